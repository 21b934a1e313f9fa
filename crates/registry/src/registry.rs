//! The registry: uploads, deletes and queries over the index, the blobs and the keys.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use cairn_plugin::Descriptor;
use cairn_tlog::store::TileStore;
use cairn_tlog::{DirStore, LogHandle, LogWriter, keyfile};

use crate::blobs::{BlobRead, BlobStore};
use crate::digest::Digest;
use crate::error::Error;
use crate::index::{Change, Index};
use crate::locks::DigestLocks;
use crate::log_entry::{EntryCodec as _, LogEntry, Watermark};
use crate::model::check_servable;
use crate::model::{
    FindQuery, NewArtifact, PluginMetadata, PluginSummary, PluginVariant, UploadOutcome,
};
use crate::opening::{check_index_within_log, check_log_key, has_tiles, read_blocking, signer_of};
use crate::staging::{Staged, Upload};
use cairn_sign::TrustedKeys;
use cairn_sign::policy::Policy;

use crate::metrics::{Readiness, RegistryMetrics};

mod attest;
mod scan;

/// A change in the index with its log entry, published or still waiting for a checkpoint.
#[derive(Debug)]
enum Recorded {
    /// Covered by a checkpoint (the embedded log answers only then).
    Published(cairn_tlog::Appended),
    /// Sequenced in the shared log, durable; the leader has yet to publish it.
    Sequenced {
        index: u64,
        started: std::time::Instant,
    },
}

/// How long a write waits by default for the shared log's leader to cover its entry: long
/// enough for a takeover after the leader dies, or its machine vanishes.
pub const DEFAULT_LOG_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Default upload size limit: 256 MiB.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 256 * 1024 * 1024;

/// How to open a registry.
#[derive(Clone, Debug)]
pub struct RegistryConfig {
    /// Data directory: index database, blobs, staging area.
    pub data_dir: PathBuf,
    /// Files of PEM public keys uploads must be signed with (empty: store unverified).
    pub public_keys: Vec<PathBuf>,
    /// Largest accepted upload in bytes.
    pub max_upload_bytes: u64,
    /// Log signing key (PKCS#8 Ed25519); default `<data>/keys/log.pem`, generated if missing.
    pub log_key: Option<PathBuf>,
    /// Log origin (and key name); default `<hostname>/log`.
    pub log_origin: Option<String>,
    /// PostgreSQL URL of the index (`postgres://…`); `None` keeps the embedded SQLite index
    /// in the data directory.
    pub database: Option<String>,
    /// A signed trust policy: its signer keys verify uploads, and every descriptor's name
    /// and version must pass it (deny list first). Replaces `public_keys`' role.
    pub trust: Option<PathBuf>,
    /// Shared object store for blobs, attestations and log tiles (`s3://bucket/prefix`);
    /// `None` keeps them in the data directory.
    pub object_store: Option<String>,
    /// Endpoint of a non-AWS S3-compatible store (`http://127.0.0.1:9000`).
    pub s3_endpoint: Option<String>,
    /// How long a write waits for the shared log's leader to publish its entry before it is
    /// answered "recorded, not yet logged" (503).
    pub log_wait: std::time::Duration,
}

impl RegistryConfig {
    /// Defaults for a data directory: no keys, 256 MiB uploads.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        RegistryConfig {
            data_dir: data_dir.into(),
            public_keys: Vec::new(),
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            log_key: None,
            log_origin: None,
            database: None,
            trust: None,
            object_store: None,
            s3_endpoint: None,
            log_wait: DEFAULT_LOG_WAIT,
        }
    }

    /// Where the log key is read from (or generated at).
    pub fn log_key_path(&self) -> PathBuf {
        self.log_key
            .clone()
            .unwrap_or_else(|| self.data_dir.join("keys/log.pem"))
    }

    /// The log origin.
    pub fn origin(&self) -> String {
        self.log_origin
            .clone()
            .unwrap_or_else(keyfile::default_origin)
    }
}

/// A blocking object store shared between threads.
type SharedStore = Arc<dyn TileStore>;

/// Where log tiles and attestations live: under `log/` and `attestations/` of the object
/// store when there is a shared one, else in the data directory.
fn object_dirs(
    config: &RegistryConfig,
    blobs: &BlobStore,
) -> Result<(SharedStore, SharedStore), Error> {
    if config.object_store.is_some() {
        let runtime = tokio::runtime::Handle::current();
        let objects = blobs.objects().clone();
        return Ok((
            Arc::new(crate::objects::BlockingObjects::new(
                objects.clone(),
                "log",
                runtime.clone(),
            )),
            Arc::new(crate::objects::BlockingObjects::new(
                objects,
                "attestations",
                runtime,
            )),
        ));
    }
    Ok((
        Arc::new(DirStore::open(&config.data_dir.join("log"))?),
        Arc::new(DirStore::open(&config.data_dir.join("attestations"))?),
    ))
}

/// Reads and checks a trust policy, and adds its ECDSA signer keys to `keys` (uploads carry
/// hex DER ECDSA signatures, memflow's format).
fn load_policy(path: &std::path::Path, keys: &mut TrustedKeys) -> Result<Policy, Error> {
    let policy =
        Policy::load(path, chrono::Utc::now()).map_err(|e| Error::Policy(e.to_string()))?;
    for key in policy.signer_keys() {
        if key.algorithm() != cairn_sign::Algorithm::Ed25519 {
            keys.add(key.clone());
        }
    }
    Ok(policy)
}

/// The registry.
#[derive(Debug)]
pub struct Registry {
    index: Index,
    blobs: BlobStore,
    keys: TrustedKeys,
    policy: Option<Policy>,
    metrics: RegistryMetrics,
    locks: DigestLocks,
    max_upload_bytes: u64,
    /// How long a write waits for the shared log's leader.
    log_wait: std::time::Duration,
    /// Bumped after every committed index change, so readers can cache answers safely.
    generation: Arc<AtomicU64>,
    /// The transparency log every publication and deletion goes through.
    log: LogHandle,
    /// Attestation documents, content-addressed (`sha256/ab/<digest>`).
    attestations: Arc<dyn TileStore>,
    /// Log entries applied to the index, for the persisted replay point.
    watermark: Mutex<Watermark>,
    /// Whether the log key was generated by this start.
    log_key_created: bool,
    /// Set when a logged change could not reach the index: writes are refused until a
    /// replay brings the index level with the log (the first entry not reflected, and why).
    behind: Mutex<Option<(u64, String)>>,
    /// The shared log's follower and leader tasks, stopped with the registry (a stopped
    /// registry must give up the leader lock).
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Registry {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Registry {
    /// Opens (creating if missing) the registry in `config.data_dir`.
    ///
    /// Start-up reads no blob: it opens the index, loads the keys and empties the staging
    /// directory of uploads a crash interrupted. On PostgreSQL it joins the shared log
    /// (refusing a log key other than the one the log is signed with) and starts following
    /// it and competing to lead it.
    pub async fn open(config: RegistryConfig) -> Result<Self, Error> {
        std::fs::create_dir_all(&config.data_dir)?;
        let mut keys = TrustedKeys::load(&config.public_keys)?;
        let policy = config
            .trust
            .as_deref()
            .map(|path| load_policy(path, &mut keys))
            .transpose()?;
        let blobs = match &config.object_store {
            Some(url) => BlobStore::remote(
                crate::objects::open_s3(url, config.s3_endpoint.as_deref())?,
                &config.data_dir.join("staging"),
            )?,
            None => BlobStore::local(&config.data_dir)?,
        };
        clear_dir(&blobs.staging_dir())?;
        let index = match &config.database {
            Some(url) => Index::open_postgres(url).await?,
            None => Index::open_sqlite(&config.data_dir.join("index.db")).await?,
        };
        let (tiles, attestations) = object_dirs(&config, &blobs)?;
        let stored_checkpoint = match index.postgres() {
            Some(_) => None,
            None => read_blocking(tiles.clone(), "checkpoint".into()).await?,
        };
        let key_path = config.log_key_path();
        if stored_checkpoint.is_some() && !key_path.exists() {
            // Generating a key now would leave a key behind that can never extend this log.
            return Err(Error::Config(format!(
                "the log key {} is missing, but the transparency log is signed by {}: a new key \
                 cannot extend it. Restore the key file (or give the right one with --log-key)",
                key_path.display(),
                signer_of(stored_checkpoint.as_deref().unwrap_or_default())
            )));
        }
        let (signer, log_key_created) = keyfile::load_or_generate(&key_path, &config.origin())?;
        if let Some(cp) = &stored_checkpoint {
            check_log_key(cp, &signer, &key_path)?;
        }
        let metrics = RegistryMetrics::default();
        let batch = cairn_tlog::writer::DEFAULT_BATCH_MAX_SIZE;
        let mut tasks = Vec::new();
        let log = match index.postgres() {
            Some(pool) => {
                let log = crate::shared_log::open(pool, &signer, tiles.clone())
                    .await
                    .map_err(|e| match (&e, &config.object_store) {
                        (Error::Log(_), None) => Error::Config(format!(
                            "{e}: the shared log's tiles are not in this data directory; \
                             instances sharing a database must share an object store \
                             (--object-store)"
                        )),
                        _ => e,
                    })?;
                tasks.push(crate::shared_log::spawn_follower(pool.clone(), log.clone()));
                tasks.push(crate::shared_log::spawn_leader(
                    pool.clone(),
                    signer,
                    tiles,
                    batch,
                    metrics.clone(),
                ));
                log
            }
            None => {
                // Before the writer opens: it writes an empty checkpoint when there is none.
                let stored_size = match &stored_checkpoint {
                    // Tiles without a checkpoint: the writer names that, more precisely.
                    None if has_tiles(tiles.clone()).await? => None,
                    None => Some(0),
                    Some(cp) => cairn_tlog::Note::parse(cp)
                        .and_then(|n| cairn_tlog::Checkpoint::parse(n.text()))
                        .ok()
                        .map(|c| c.size),
                };
                if let Some(size) = stored_size {
                    check_index_within_log(&index, size).await?;
                }
                let writer = tokio::task::spawn_blocking(move || LogWriter::open_in(tiles, signer))
                    .await
                    .map_err(|e| Error::Internal(e.to_string()))??;
                metrics.leader.set(1);
                LogHandle::start(writer, batch)?
            }
        };
        let registry = Registry {
            index,
            blobs,
            keys,
            policy,
            metrics,
            locks: DigestLocks::new(),
            max_upload_bytes: config.max_upload_bytes,
            log_wait: config.log_wait,
            generation: Arc::new(AtomicU64::new(0)),
            watermark: Mutex::new(Watermark::starting_at(log.size())),
            attestations,
            log,
            log_key_created,
            behind: Mutex::new(None),
            tasks,
        };
        if !registry.shared() {
            registry.replay().await?;
        }
        // Other instances sharing the database write too: their commits invalidate this
        // instance's cached answers as well.
        let generation = registry.generation.clone();
        registry.index.watch(move || {
            generation.fetch_add(1, Ordering::AcqRel);
        })?;
        Ok(registry)
    }

    /// Rebuilds the index of `config.data_dir` from its log alone.
    pub async fn reindex(config: RegistryConfig) -> Result<Self, Error> {
        for f in ["index.db", "index.db-wal", "index.db-shm"] {
            match std::fs::remove_file(config.data_dir.join(f)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        Self::open(config).await
    }

    /// Applies, in log order, every entry from the persisted replay point: a crash between a
    /// log append and its index write loses nothing. Replaying an applied entry is harmless.
    async fn replay(&self) -> Result<(), Error> {
        let (from, to) = (self.index.log_applied().await?, self.log.size());
        let mut deleted = Vec::new();
        let mut i = from;
        // A bundle at a time: each is read and decoded once, memory stays bounded.
        for chunk in (from..to).step_by(cairn_tlog::tile::TILE_WIDTH as usize) {
            let log = self.log.clone();
            let end = to.min(chunk + cairn_tlog::tile::TILE_WIDTH);
            let entries = tokio::task::spawn_blocking(move || log.entries(chunk, end))
                .await
                .map_err(|e| Error::Internal(e.to_string()))??;
            for bytes in entries {
                apply_entry(&self.index, i, &bytes, &mut deleted).await?;
                i += 1;
            }
        }
        // A later entry may publish a deleted digest again: only blobs left unindexed go.
        for d in deleted {
            if !self.index.contains(&d).await? {
                self.blobs.delete(&d).await?;
            }
        }
        if to > from {
            tracing::info!(from, to, "replayed log entries into the index");
            self.index.set_log_applied(to).await?;
        }
        Ok(())
    }

    /// The transparency log.
    pub fn log(&self) -> &LogHandle {
        &self.log
    }

    /// Whether this start generated the log key.
    pub fn log_key_created(&self) -> bool {
        self.log_key_created
    }

    /// Records that log entry `index` is reflected in the index.
    async fn applied(&self, index: u64) -> Result<(), Error> {
        let advanced = self
            .watermark
            .lock()
            .map_err(|_| Error::Internal("watermark lock".into()))?
            .applied(index);
        if let Some(next) = advanced {
            self.index.set_log_applied(next).await?;
        }
        Ok(())
    }

    /// Every descriptor of an upload must pass the trust policy, if one is configured.
    fn check_policy(
        &self,
        digest: &Digest,
        signature_hex: &str,
        descriptors: &[cairn_plugin::Descriptor],
    ) -> Result<(), Error> {
        let Some(policy) = &self.policy else {
            return Ok(());
        };
        let signature =
            hex::decode(signature_hex).map_err(|_| Error::Policy("signature is not hex".into()))?;
        let digest: [u8; 32] = *digest.as_bytes();
        for d in descriptors {
            let artifact = cairn_sign::policy::Artifact {
                name: &d.name,
                version: Some(&d.version),
                digest: &digest,
                bytes: None,
            };
            if let cairn_sign::policy::Decision::Denied(why) = policy.evaluate(
                &artifact,
                std::slice::from_ref(&signature),
                chrono::Utc::now(),
            ) {
                return Err(Error::Policy(format!("{} {}: {why}", d.name, d.version)));
            }
        }
        Ok(())
    }

    /// Logs `entry` and applies `change` to the index. `None` when the change did not apply:
    /// with the shared log nothing is logged then; with the embedded log the entry stays
    /// logged, as replay would apply it (a no-op), like before.
    ///
    /// Embedded: the writer thread appends, then the index is written and the applied
    /// watermark advanced (replay covers a crash in between). Shared: one PostgreSQL
    /// transaction sequences the entry and changes the index, then this waits for the
    /// leader's checkpoint covering it.
    async fn record(&self, entry: Vec<u8>, change: Change<'_>) -> Result<Option<Recorded>, Error> {
        if entry.len() > cairn_tlog::tile::MAX_ENTRY_SIZE {
            return Err(Error::EntryTooLarge {
                what: "the entry is too large",
                size: entry.len(),
            });
        }
        if self.shared() {
            let started = std::time::Instant::now();
            let Some(index) = self.index.sequence(&entry, change).await? else {
                return Ok(None);
            };
            self.bump();
            return Ok(Some(Recorded::Sequenced { index, started }));
        }
        let appended = self.sequence(entry).await?;
        // The entry is logged: its change must reach the index. Two tries, then writes
        // stop (503) until a replay catches up, so a retry can never log it twice.
        let mut tries = 0;
        let applied = loop {
            match self.apply_change(&change, appended.index).await {
                Ok(applied) => break applied,
                Err(e) if tries < 1 => {
                    tries += 1;
                    tracing::warn!(error = %e, index = appended.index, "index write failed; retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, index = appended.index, "the index is behind the log; writes pause");
                    if let Ok(mut behind) = self.behind.lock() {
                        behind.get_or_insert((appended.index, e.to_string()));
                    }
                    return Err(Error::IndexBehind {
                        index: appended.index,
                        reason: e.to_string(),
                    });
                }
            }
        };
        self.applied(appended.index).await?;
        if applied {
            self.bump();
        }
        Ok(applied.then_some(Recorded::Published(appended)))
    }

    async fn apply_change(&self, change: &Change<'_>, index: u64) -> Result<bool, Error> {
        Ok(match change {
            Change::Insert(artifact) => {
                let mut artifact = (*artifact).clone();
                artifact.log_index = Some(index);
                self.index.insert(&artifact).await?
            }
            Change::Remove(digest) => self.index.remove(digest).await?,
            Change::Scan(scan, created_ns) => {
                let mut scan = (*scan).clone();
                scan.log_index = Some(index);
                self.index.insert_scan(&scan, *created_ns).await?
            }
            Change::Nothing => true,
        })
    }

    /// Refuses writes while the index is behind the log, after trying to catch it up.
    async fn writable(&self) -> Result<(), Error> {
        let behind = self.behind.lock().ok().and_then(|b| b.clone());
        let Some((index, reason)) = behind else {
            return Ok(());
        };
        match self.replay().await {
            Ok(()) => {
                if let Ok(mut b) = self.behind.lock() {
                    *b = None;
                }
                self.bump();
                tracing::info!(index, "the index caught up with the log; writes resume");
                Ok(())
            }
            Err(e) => Err(Error::WritesPaused {
                index,
                reason: format!("{reason}; catching up failed: {e}"),
            }),
        }
    }

    /// Whether writes are paused because the index is behind the log.
    pub fn index_behind(&self) -> Option<u64> {
        self.behind
            .lock()
            .ok()
            .and_then(|b| b.as_ref().map(|(i, _)| *i))
    }

    /// Waits until a checkpoint covers a recorded entry. Call it without holding a digest
    /// lock: with the shared log the wait lasts as long as the leader takes.
    async fn published(&self, recorded: Recorded) -> Result<cairn_tlog::Appended, Error> {
        match recorded {
            Recorded::Published(appended) => Ok(appended),
            Recorded::Sequenced { index, started } => {
                let appended = self
                    .log
                    .covering(index, self.log_wait)
                    .await
                    .map_err(|_| Error::NotYetLogged(index))?;
                self.metrics
                    .sequencing
                    .observe(started.elapsed().as_secs_f64());
                Ok(appended)
            }
        }
    }

    /// Whether the log is shared through the PostgreSQL index (sequenced there, integrated
    /// by one leader) rather than written by this process alone.
    fn shared(&self) -> bool {
        self.index.postgres().is_some()
    }

    /// Exclusive use of a digest: in this process, and across instances on PostgreSQL.
    async fn lock(&self, digest: &Digest) -> Result<crate::locks::DigestGuard<'_>, Error> {
        self.locks.lock(digest, self.index.postgres()).await
    }

    /// Appends to the log, timing submission to covering checkpoint.
    async fn sequence(&self, entry: Vec<u8>) -> Result<cairn_tlog::sequencer::Appended, Error> {
        let started = std::time::Instant::now();
        let appended = self.log.append(entry).await?;
        self.metrics
            .sequencing
            .observe(started.elapsed().as_secs_f64());
        Ok(appended)
    }

    /// The index engine: `sqlite` or `postgres`.
    pub fn index_engine(&self) -> &'static str {
        self.index.engine()
    }

    /// The registry's own metrics.
    pub fn metrics(&self) -> &RegistryMetrics {
        &self.metrics
    }

    /// Whether every dependency answers: the database, the blob store (a write and a delete
    /// in the staging area), the log writer.
    pub async fn readiness(&self) -> Readiness {
        let database = self.index.ping().await.is_ok();
        let store = self.blobs.probe().await;
        Readiness {
            database,
            store,
            log: self.log.is_running(),
            index_current: self.index_behind().is_none(),
            log_leader: self.metrics.leader.get() == 1,
        }
    }

    /// The trust policy uploads are checked against, if any.
    pub fn policy(&self) -> Option<&Policy> {
        self.policy.as_ref()
    }

    /// The keys signatures are checked against.
    pub fn keys(&self) -> &TrustedKeys {
        &self.keys
    }

    /// Largest accepted upload in bytes.
    pub fn max_upload_bytes(&self) -> u64 {
        self.max_upload_bytes
    }

    /// A number that changes after every committed write of this registry.
    ///
    /// A reader that takes the generation BEFORE querying may cache the answer under it: a
    /// write that lands during the query bumps the generation and invalidates the entry.
    /// Instances sharing one PostgreSQL database bump each other's through LISTEN/NOTIFY.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Liveness of the index (one trivial query).
    pub async fn ping(&self) -> Result<(), Error> {
        self.index.ping().await
    }

    /// Starts receiving an upload.
    pub async fn begin_upload(&self) -> Result<Upload, Error> {
        Upload::create(&self.blobs.staging_dir(), self.max_upload_bytes).await
    }

    /// Checks, analyses and commits a received upload.
    ///
    /// Order: signature (cheap, refuses strangers first), descriptors (off the reactor),
    /// then under the digest's lock the blob and, last, the index rows. "Added" is answered
    /// only after both are durable.
    pub async fn publish(&self, staged: Staged, signature: &str) -> Result<UploadOutcome, Error> {
        let digest = staged.digest();
        self.metrics.upload_bytes.inc_by(staged.size());
        let check = self.keys.check(signature, digest.as_bytes())?;
        self.writable().await?;
        if self.index.contains(&digest).await? {
            return Ok(UploadOutcome::AlreadyExists);
        }
        let descriptors = analyze_file(staged.path().to_path_buf()).await?;
        if descriptors.is_empty() {
            return Err(Error::NoDescriptors);
        }
        check_servable(&descriptors)?;
        self.check_policy(&digest, &check.normalized, &descriptors)?;
        let artifact = NewArtifact {
            digest,
            size: staged.size(),
            signature: check.normalized,
            key_id: check.key_id,
            created_ns: now_ns(),
            descriptors,
            log_index: None,
        };
        let entry = LogEntry::artifact(&artifact).to_bytes();
        if entry.len() > cairn_tlog::tile::MAX_ENTRY_SIZE {
            return Err(Error::EntryTooLarge {
                what: "too many or too long descriptors",
                size: entry.len(),
            });
        }
        let recorded = {
            let _guard = self.lock(&digest).await?;
            if self.index.contains(&digest).await? {
                return Ok(UploadOutcome::AlreadyExists);
            }
            // Blob first: an entry never names bytes the store lacks. A crash after the blob
            // leaves an unindexed blob, invisible; a crash after the log append is repaired
            // by replay (embedded) or never happens (shared: log and index are one
            // transaction).
            self.blobs.commit(staged).await?;
            match self.record(entry, Change::Insert(&artifact)).await {
                Ok(recorded) => recorded,
                Err(e) => return Err(self.unlogged(&digest, e).await),
            }
        };
        let Some(recorded) = recorded else {
            return Ok(UploadOutcome::AlreadyExists);
        };
        let appended = self.published(recorded).await?;
        tracing::info!(digest = %digest, size = artifact.size, index = appended.index, "artifact added");
        Ok(UploadOutcome::Added)
    }

    /// A blob committed for a change that was not logged is nobody's: it goes (an entry
    /// that was logged keeps its blob, which replay indexes).
    async fn unlogged(&self, digest: &Digest, e: Error) -> Error {
        if matches!(e, Error::IndexBehind { .. } | Error::NotYetLogged(_)) {
            return e;
        }
        if let Err(del) = self.blobs.delete(digest).await {
            tracing::warn!(error = %del, digest = %digest, "removing the blob of an unlogged upload");
        }
        e
    }

    /// Deletes an artifact: index rows first (it disappears at once), then the blob.
    pub async fn delete(&self, digest: &Digest) -> Result<(), Error> {
        self.writable().await?;
        let recorded = {
            let _guard = self.lock(digest).await?;
            if !self.index.contains(digest).await? {
                return Err(Error::NotFound);
            }
            let entry = LogEntry::Delete {
                digest: digest.to_hex(),
                deleted_ns: now_ns(),
            };
            let recorded = self
                .record(entry.to_bytes(), Change::Remove(digest))
                .await?;
            if recorded.is_none() && self.shared() {
                return Err(Error::NotFound);
            }
            // Under the lock: a concurrent upload of the same bytes waits, then stores anew.
            self.blobs.delete(digest).await?;
            recorded
        };
        if let Some(recorded) = recorded {
            self.published(recorded).await?;
        }
        tracing::info!(digest = %digest, "artifact deleted");
        Ok(())
    }

    /// Every plugin name with its description.
    pub async fn plugins(&self) -> Result<Vec<PluginSummary>, Error> {
        self.index.plugins().await
    }

    /// Variants of a plugin matching a query.
    pub async fn find(&self, name: &str, query: &FindQuery) -> Result<Vec<PluginVariant>, Error> {
        self.index.find(name, query).await
    }

    /// An artifact's metadata.
    pub async fn metadata(&self, digest: &Digest) -> Result<Option<PluginMetadata>, Error> {
        self.index.metadata(digest).await
    }

    /// Size of an indexed artifact (`None`: not indexed, so not served).
    pub async fn size(&self, digest: &Digest) -> Result<Option<u64>, Error> {
        self.index.size(digest).await
    }

    /// Reads an indexed artifact's bytes (all, or a range within its size).
    pub async fn read(
        &self,
        digest: &Digest,
        range: Option<Range<u64>>,
    ) -> Result<BlobRead, Error> {
        self.blobs.read(digest, range).await?.ok_or_else(|| {
            Error::Internal(format!(
                "blob {digest} is indexed but missing from the store"
            ))
        })
    }
}

/// Applies log entry `i` to an index (idempotent); a deleted digest goes to `deleted`, whose
/// blob the caller removes once no later entry publishes it again.
pub(crate) async fn apply_entry(
    index: &Index,
    i: u64,
    bytes: &[u8],
    deleted: &mut Vec<Digest>,
) -> Result<(), Error> {
    // The log is the registry's own: every entry must be one of its kinds.
    let entry = LogEntry::parse(bytes).ok_or_else(|| {
        Error::Corrupt(format!(
            "log entry {i} is not a registry entry ({} bytes): the log was altered",
            bytes.len()
        ))
    })?;
    match entry {
        LogEntry::Delete { digest, .. } => {
            let d = Digest::parse(&digest)
                .ok_or_else(|| Error::Corrupt(format!("log entry {i}: bad digest {digest:?}")))?;
            index.remove(&d).await?;
            deleted.push(d);
        }
        LogEntry::Scan {
            mut scan,
            created_ns,
        } => {
            scan.log_index = Some(i);
            index.insert_scan(&scan, created_ns).await?;
        }
        LogEntry::Attestation { .. } => {}
        entry @ LogEntry::Artifact { .. } => {
            if let Some(artifact) = entry.to_artifact(i)? {
                index.insert(&artifact).await?;
            }
        }
    }
    Ok(())
}

/// Runs the descriptor analysis on a blocking thread over a memory map of the staged file.
async fn analyze_file(path: PathBuf) -> Result<Vec<Descriptor>, Error> {
    tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path)?;
        if file.metadata()?.len() == 0 {
            return Ok(cairn_plugin::analyze(&[])?);
        }
        // SAFETY: the staging file is private to this process (random name, created with
        // create_new) and nothing writes or truncates it while it is mapped.
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file)? };
        // A bug in a parser dependency must not take the request down: report it as a
        // malformed binary instead.
        let result =
            std::panic::catch_unwind(|| cairn_plugin::analyze(&map)).unwrap_or_else(|_| {
                Err(cairn_plugin::Error::Malformed(
                    "the binary crashed the analyzer".into(),
                ))
            });
        Ok(result?)
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

fn now_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}

/// Removes every file in `dir` (leftovers of uploads a crash interrupted).
fn clear_dir(dir: &Path) -> Result<(), Error> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}
