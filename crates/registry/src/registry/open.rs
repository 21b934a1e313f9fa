//! Opening a registry: stores, keys, the log (embedded or shared), the start-up checks and
//! replay; and rebuilding the index from the log (`reindex`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use cairn_sign::TrustedKeys;
use cairn_sign::attestation::AttestationKeys;
use cairn_sign::policy::Policy;
use cairn_tlog::store::TileStore;
use cairn_tlog::{DirStore, LogHandle, LogWriter, NoteSigner, keyfile};

use super::{Registry, RegistryConfig};
use crate::blobs::BlobStore;
use crate::error::Error;
use crate::index::Index;
use crate::locks::DigestLocks;
use crate::log_entry::Watermark;
use crate::metrics::RegistryMetrics;
use crate::opening::{check_index_within_log, check_log_key, has_tiles, read_blocking, signer_of};

/// A blocking object store shared between threads.
type SharedStore = Arc<dyn TileStore>;

impl Registry {
    /// Opens (creating if missing) the registry in `config.data_dir`.
    ///
    /// Start-up reads no blob: it opens the index, loads the keys and empties the staging
    /// directory of uploads a crash interrupted. Embedded, it replays log entries the index
    /// lacks. On PostgreSQL it joins the shared log (refusing a log key other than the one
    /// the log is signed with) and starts following it and competing to lead it.
    pub async fn open(config: RegistryConfig) -> Result<Self, Error> {
        std::fs::create_dir_all(&config.data_dir)?;
        let pem_files = pem_key_files(&config.public_keys);
        let (mut keys, mut attestation_keys) = load_keys(&pem_files)?;
        let policy = config
            .trust
            .as_deref()
            .map(|path| load_policy(path, &mut keys))
            .transpose()?;
        for key in keys.keys() {
            attestation_keys.add_key(key);
        }
        let package_keys = super::packages::PackageKeys {
            keys: Arc::new(cairn_sign::detached::DetachedKeys::load(
                &config.public_keys,
            )?),
            policy: policy
                .as_ref()
                .map(|p| (Arc::new(p.detached_keys()), Arc::new(p.clone()))),
        };
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
        let metrics = RegistryMetrics::default();
        let (log, log_key_created, tasks) = open_log(&config, &index, tiles, &metrics).await?;
        let registry = Registry {
            index,
            blobs,
            keys,
            attestation_keys: Arc::new(attestation_keys),
            policy,
            package_keys,
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
        // An index made before the search index existed: it is built from the whole log
        // once (the marker goes in the transaction that builds it, so a crash retries).
        if registry.index.search_pending().await? {
            registry.rebuild_search().await?;
        }
        // The anomaly gauges start from each host's newest report, not from zero.
        for (host, report) in registry.index.latest_reports().await? {
            registry.metrics.record_report(&host, &report);
        }
        // Other instances sharing the database write too: their commits invalidate this
        // instance's cached answers as well.
        let generation = registry.generation.clone();
        registry.index.watch(move || {
            generation.fetch_add(1, Ordering::AcqRel);
        })?;
        Ok(registry)
    }

    /// Rebuilds the search index alone from the log (see [`Registry::rebuild_search`]).
    pub async fn reindex_search(config: RegistryConfig) -> Result<Self, Error> {
        let registry = Self::open(config).await?;
        registry.rebuild_search().await?;
        Ok(registry)
    }

    /// Rebuilds the index from the log alone: embedded, from a new index file; on
    /// PostgreSQL, in one transaction that empties the index and applies every entry.
    pub async fn reindex(config: RegistryConfig) -> Result<Self, Error> {
        if config.database.is_some() {
            let registry = Self::open(config).await?;
            registry.rebuild_shared().await?;
            return Ok(registry);
        }
        for f in ["index.db", "index.db-wal", "index.db-shm"] {
            match std::fs::remove_file(config.data_dir.join(f)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        Self::open(config).await
    }
}

/// The log, whether this start generated its key, and the shared log's background tasks.
type OpenedLog = (LogHandle, bool, Vec<tokio::task::JoinHandle<()>>);

/// Loads the log key, refusing one that cannot extend the stored log, and opens the log:
/// the shared one on PostgreSQL, else this process's own writer.
async fn open_log(
    config: &RegistryConfig,
    index: &Index,
    tiles: SharedStore,
    metrics: &RegistryMetrics,
) -> Result<OpenedLog, Error> {
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
    let (signer, created) = keyfile::load_or_generate(&key_path, &config.log.origin())?;
    if let Some(cp) = &stored_checkpoint {
        check_log_key(cp, &signer, &key_path)?;
    }
    let batch = cairn_tlog::writer::DEFAULT_BATCH_MAX_SIZE;
    let Some(pool) = index.postgres() else {
        let log = open_embedded(index, tiles, signer, stored_checkpoint, batch).await?;
        metrics.leader.set(1);
        return Ok((log, created, Vec::new()));
    };
    let log = crate::shared_log::open(pool, &signer, tiles.clone())
        .await
        .map_err(|e| match (&e, &config.object_store) {
            (Error::Log(_), None) => Error::Config(format!(
                "{e}: the shared log's tiles are not in this data directory; instances \
                 sharing a database must share an object store (--object-store)"
            )),
            _ => e,
        })?;
    let tasks = vec![
        crate::shared_log::spawn_follower(pool.clone(), log.clone()),
        crate::shared_log::spawn_leader(pool.clone(), signer, tiles, batch, metrics.clone()),
    ];
    Ok((log, created, tasks))
}

/// This process's own log writer, after checking the index reflects nothing it lacks.
async fn open_embedded(
    index: &Index,
    tiles: SharedStore,
    signer: NoteSigner,
    stored_checkpoint: Option<Vec<u8>>,
    batch: usize,
) -> Result<LogHandle, Error> {
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
        check_index_within_log(index, size).await?;
    }
    let writer = tokio::task::spawn_blocking(move || LogWriter::open_in(tiles, signer))
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
    Ok(LogHandle::start(writer, batch)?)
}

/// Where log tiles and attestations live: under `log/` and `attestations/` of the object
/// store when there is a shared one, else in the data directory.
fn object_dirs(
    config: &RegistryConfig,
    blobs: &BlobStore,
) -> Result<(SharedStore, SharedStore), Error> {
    if config.object_store.is_none() {
        return Ok((
            Arc::new(DirStore::open(&config.data_dir.join("log"))?),
            Arc::new(DirStore::open(&config.data_dir.join("attestations"))?),
        ));
    }
    let runtime = tokio::runtime::Handle::current();
    let under = |prefix| -> SharedStore {
        Arc::new(crate::objects::BlockingObjects::new(
            blobs.objects().clone(),
            prefix,
            runtime.clone(),
        ))
    };
    Ok((under("log"), under("attestations")))
}

/// Reads and checks a trust policy, and adds its ECDSA signer keys to `keys` (uploads carry
/// hex DER ECDSA signatures, memflow's format).
fn load_policy(path: &Path, keys: &mut TrustedKeys) -> Result<Policy, Error> {
    let policy = Policy::load(path, chrono::Utc::now())?;
    for key in policy.signer_keys() {
        if key.algorithm() != cairn_sign::Algorithm::Ed25519 {
            keys.add(key.clone());
        }
    }
    Ok(policy)
}

/// The `--public-key` files that are PEM (they verify plugin and scan signatures too), told
/// by their first bytes from OpenPGP key files (which verify package signatures only).
/// The keys of the PEM key files: those that sign artifacts, and every key attestations
/// may be signed with (RSA and P-384 keys sign attestations only).
fn load_keys(paths: &[PathBuf]) -> Result<(TrustedKeys, AttestationKeys), Error> {
    let mut keys = TrustedKeys::default();
    let mut attesting = AttestationKeys::new();
    for path in paths {
        let origin = format!("public key {}", path.display());
        let text = std::fs::read_to_string(path).map_err(|e| cairn_sign::Error::Key {
            origin: origin.clone(),
            reason: e.to_string(),
        })?;
        for key in attesting.add_pem(&text, &origin)?.into_iter().flatten() {
            keys.add(key);
        }
    }
    Ok((keys, attesting))
}

fn pem_key_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut pem = Vec::new();
    for path in paths {
        let mut head = [0u8; 64];
        // A file that cannot be read stays a PEM file: loading it names it in the error.
        let n = std::fs::File::open(path)
            .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
            .unwrap_or(0);
        let head = &head[..n];
        let armored = String::from_utf8_lossy(head).contains("-----BEGIN PGP PUBLIC KEY BLOCK");
        // A binary OpenPGP packet header has the high bit set; PEM is ASCII.
        if !armored && head.first().is_none_or(|b| b & 0x80 == 0) {
            pem.push(path.clone());
        }
    }
    pem
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
