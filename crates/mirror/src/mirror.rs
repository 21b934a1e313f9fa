//! [`Mirror`]: a pull-through cache of another registry that keeps only what it verified.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use base64::Engine as _;
use cairn_api::{EntryProof, LogEntry};
use cairn_client::Progress;
use cairn_tlog::tile::{TILE_WIDTH, TileKind, TilePath};

use crate::config::MirrorConfig;
use crate::deletions::Deletions;
use crate::error::Error;
use crate::fetch::Fetch;
use crate::listing::{Listing, Listings};
use crate::metrics::MirrorMetrics;
use crate::store::{Record, Store};
use crate::upstream::Upstream;
use crate::upstream_log::UpstreamLog;

/// A mirror: its upstream, the verified copy of the upstream log, the verified artifacts
/// and the listing cache, in one directory no other process uses at the same time.
#[derive(Debug)]
pub struct Mirror {
    config: MirrorConfig,
    up: Upstream,
    log: UpstreamLog,
    store: Store,
    listings: Listings,
    metrics: Arc<MirrorMetrics>,
    fetching: tokio::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    refreshed: Mutex<Option<Instant>>,
    deletions: Deletions,
    _lock: std::fs::File,
}

/// What [`Mirror::sync`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Entries of the upstream log verified (every one of them).
    pub entries: u64,
    /// Artifacts published and not deleted, matching the name filter.
    pub artifacts: u64,
    /// Of those, how many were fetched now (the rest were held already).
    pub fetched: u64,
}

fn lock_dir(dir: &std::path::Path) -> Result<std::fs::File, Error> {
    std::fs::create_dir_all(dir).map_err(Error::io(format!("creating {}", dir.display())))?;
    let path = dir.join("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(Error::io(format!("opening {}", path.display())))?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive)
        .map_err(|_| Error::Busy(dir.display().to_string()))?;
    Ok(file)
}

impl Mirror {
    /// Opens (or creates) the mirror in `config.dir`, checking what it holds.
    pub fn open(config: MirrorConfig) -> Result<Self, Error> {
        let lock = lock_dir(&config.dir)?;
        let metrics = Arc::new(MirrorMetrics::new());
        let up = Upstream::new(&config.upstream, metrics.clone())?;
        let log = UpstreamLog::open(&config.dir.join("log"), config.log_key.clone())?;
        let store = Store::open(&config.dir)?;
        let listings = Listings::open(&config.dir, config.listing_ttl)?;
        let deletions = Deletions::open(&config.dir);
        Ok(Mirror {
            config,
            up,
            log,
            store,
            listings,
            metrics,
            fetching: Default::default(),
            refreshed: Mutex::new(None),
            deletions,
            _lock: lock,
        })
    }

    /// The upstream's URL.
    pub fn upstream(&self) -> &str {
        self.up.url()
    }

    /// The counters.
    pub fn metrics(&self) -> &Arc<MirrorMetrics> {
        &self.metrics
    }

    /// The verified copy of the upstream log.
    pub fn log(&self) -> &UpstreamLog {
        &self.log
    }

    /// The settings.
    pub fn config(&self) -> &MirrorConfig {
        &self.config
    }

    /// How many artifacts the mirror holds.
    pub fn held(&self) -> usize {
        self.store.len()
    }

    /// Whether the mirror holds `digest` already (no upstream request).
    pub fn holds(&self, digest: &str) -> bool {
        self.store.record(digest).is_some()
    }

    /// The artifact `digest`: held, or fetched from the upstream and verified first.
    pub async fn artifact(&self, digest: &str) -> Result<Arc<Record>, Error> {
        if let Some(r) = self.store.record(digest) {
            self.metrics.hit();
            return Ok(r);
        }
        let one = self
            .fetching
            .lock()
            .await
            .entry(digest.to_owned())
            .or_default()
            .clone();
        let _only = one.lock().await;
        if let Some(r) = self.store.record(digest) {
            self.metrics.hit();
            return Ok(r);
        }
        self.metrics.miss();
        let fetched = Fetch {
            up: &self.up,
            log: &self.log,
            store: &self.store,
            policy: self.config.policy.as_ref(),
        }
        .artifact(digest)
        .await;
        self.fetching.lock().await.remove(digest);
        if fetched.is_ok() {
            self.forget_deleted().await;
        }
        fetched
    }

    /// Where a held artifact's bytes are.
    pub fn blob(&self, digest: &str) -> PathBuf {
        self.store.blob(digest)
    }

    /// A listing (`/plugins…` path and query) from the cache or the upstream.
    pub async fn listing(&self, key: &str) -> Result<Listing, Error> {
        self.listings.get(&self.up, &self.metrics, key).await
    }

    /// The proof of `digest`'s entry against the latest checkpoint the mirror verified, in
    /// the upstream's shape.
    pub async fn proof(&self, digest: &str) -> Result<EntryProof, Error> {
        let record = self.artifact(digest).await?;
        let (proof, checkpoint) = self.log.proof_at_latest(record.index)?;
        Ok(EntryProof {
            index: record.index,
            entry: record.entry.clone(),
            proof: proof
                .iter()
                .map(|h| base64::engine::general_purpose::STANDARD.encode(h))
                .collect(),
            checkpoint: checkpoint.to_string(),
            log: None,
        })
    }

    /// The latest checkpoint verified, after asking the upstream for a newer one if the
    /// last ask is older than the listing time. An unreachable upstream leaves the held
    /// one; a checkpoint that does not verify is an error.
    pub async fn checkpoint(&self) -> Result<Arc<str>, Error> {
        let due = self
            .refreshed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_none_or(|t| t.elapsed() >= self.config.listing_ttl);
        if due {
            match self.refresh().await {
                Ok(()) => {}
                Err(e @ Error::Unreachable { .. }) if self.log.checkpoint().is_none() => {
                    return Err(e);
                }
                Err(Error::Unreachable { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        self.log.checkpoint().ok_or_else(|| Error::Unreachable {
            upstream: self.upstream().to_owned(),
            reason: "the mirror has no checkpoint of it yet".into(),
        })
    }

    /// Asks the upstream for its checkpoint and takes it if it verifies.
    pub async fn refresh(&self) -> Result<(), Error> {
        let text = self
            .up
            .client()
            .checkpoint()
            .await
            .map_err(|e| self.up.failed("checkpoint", e))?;
        self.log.observe(&self.up, &text).await?;
        *self
            .refreshed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
        self.forget_deleted().await;
        Ok(())
    }

    /// Forgets held artifacts whose deletion the verified log holds. A failure (the
    /// upstream gone mid-way) is retried after the next checkpoint.
    async fn forget_deleted(&self) {
        if let Err(e) = self
            .deletions
            .catch_up(&self.log, &self.up, &self.store)
            .await
        {
            tracing::warn!(error = %e, "reading the upstream log for deletions");
        }
    }

    /// A log object (`tile/…`) as the upstream publishes it for the verified size: hash
    /// tiles computed from the verified tree, entry bundles held or fetched and checked.
    pub async fn tile(&self, path: &TilePath) -> Result<Option<Vec<u8>>, Error> {
        if let TileKind::Hash(_) = path.kind {
            return Ok(self.log.hash_tile(path));
        }
        if !cairn_tlog::tile::is_published(path, self.log.size()) {
            return Ok(None);
        }
        if let Some(b) = self.log.held_bundle(path)? {
            return Ok(Some(b));
        }
        self.log.fetch_bundle(&self.up, path).await.map(Some)
    }

    /// The entry at `index`, verified against its leaf.
    pub async fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, Error> {
        self.log.entry(&self.up, index).await
    }

    /// Takes the upstream's latest checkpoint, then verifies and keeps every entry of its
    /// log, then fetches every artifact published and not deleted whose plugin name
    /// `names` matches (all of them without a filter).
    pub async fn sync(
        &self,
        names: Option<&globset::GlobSet>,
        entries: &dyn Progress,
        artifacts: &dyn Progress,
    ) -> Result<SyncReport, Error> {
        self.refresh().await?;
        let size = self.log.size();
        entries.start(Some(size));
        // Each live digest with the index that published it, so the order is the log's.
        let mut live: HashMap<String, u64> = HashMap::new();
        for first in (0..size).step_by(TILE_WIDTH as usize) {
            let path = self.log.bundle_path(first);
            let bytes = match self.log.held_bundle(&path)? {
                Some(b) => b,
                None => self.log.fetch_bundle(&self.up, &path).await?,
            };
            let bundle = cairn_tlog::tile::decode_bundle(&bytes)
                .map_err(|e| Error::Damaged(e.to_string()))?;
            for (i, e) in bundle.iter().enumerate() {
                match serde_json::from_slice::<LogEntry>(e) {
                    Ok(LogEntry::Artifact {
                        digest,
                        descriptors,
                        ..
                    }) if names.is_none_or(|g| descriptors.iter().any(|d| g.is_match(&d.name))) => {
                        live.entry(digest).or_insert(first + i as u64);
                    }
                    Ok(LogEntry::Delete { digest, .. }) => {
                        live.remove(&digest);
                    }
                    _ => {}
                }
            }
            entries.advance(path.width());
        }
        entries.finish();
        let mut live: Vec<(u64, String)> = live.into_iter().map(|(d, i)| (i, d)).collect();
        live.sort_unstable();
        let mut report = SyncReport {
            entries: size,
            artifacts: live.len() as u64,
            fetched: 0,
        };
        artifacts.start(Some(report.artifacts));
        for (_, digest) in &live {
            if self.store.record(digest).is_none() {
                self.artifact(digest).await?;
                report.fetched += 1;
            }
            artifacts.advance(1);
        }
        artifacts.finish();
        Ok(report)
    }

    /// Keeps every entry bundle of the verified log (`--mirror-log`), fetching those not
    /// held yet.
    pub async fn keep_log(&self) -> Result<(), Error> {
        let size = self.log.size();
        for first in (0..size).step_by(TILE_WIDTH as usize) {
            let path = self.log.bundle_path(first);
            if self.log.held_bundle(&path)?.is_none() {
                self.log.fetch_bundle(&self.up, &path).await?;
            }
        }
        Ok(())
    }
}
