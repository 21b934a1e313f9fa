//! The registry: uploads, deletes and queries over the index, the blobs and the keys.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use cairn_plugin::Descriptor;

use crate::blobs::{BlobRead, BlobStore};
use crate::digest::Digest;
use crate::error::Error;
use crate::index::Index;
use crate::locks::DigestLocks;
use crate::model::time_of;
use crate::model::{
    FindQuery, NewArtifact, PluginMetadata, PluginSummary, PluginVariant, UploadOutcome,
};
use crate::scans::ScanSummary;
use crate::staging::{Staged, Upload};
use cairn_sign::TrustedKeys;

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
}

impl RegistryConfig {
    /// Defaults for a data directory: no keys, 256 MiB uploads.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        RegistryConfig {
            data_dir: data_dir.into(),
            public_keys: Vec::new(),
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
        }
    }
}

/// The registry.
#[derive(Debug)]
pub struct Registry {
    index: Index,
    blobs: BlobStore,
    keys: TrustedKeys,
    locks: DigestLocks,
    max_upload_bytes: u64,
    /// Bumped after every committed index change, so readers can cache answers safely.
    generation: AtomicU64,
}

impl Registry {
    /// Opens (creating if missing) the registry in `config.data_dir`.
    ///
    /// Start-up reads no blob: it opens the index, loads the keys and empties the staging
    /// directory of uploads a crash interrupted.
    pub async fn open(config: RegistryConfig) -> Result<Self, Error> {
        std::fs::create_dir_all(&config.data_dir)?;
        let keys = TrustedKeys::load(&config.public_keys)?;
        let blobs = BlobStore::local(&config.data_dir)?;
        clear_dir(&blobs.staging_dir())?;
        let index = Index::open_sqlite(&config.data_dir.join("index.db")).await?;
        Ok(Registry {
            index,
            blobs,
            keys,
            locks: DigestLocks::new(),
            max_upload_bytes: config.max_upload_bytes,
            generation: AtomicU64::new(0),
        })
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
    /// (It covers writes made through this process; instances sharing one database need a
    /// change feed, which the scale-out work adds.)
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
        let check = self.keys.check(signature, digest.as_bytes())?;
        if self.index.contains(&digest).await? {
            return Ok(UploadOutcome::AlreadyExists);
        }
        let descriptors = analyze_file(staged.path().to_path_buf()).await?;
        if descriptors.is_empty() {
            return Err(Error::NoDescriptors);
        }
        let artifact = NewArtifact {
            digest,
            size: staged.size(),
            signature: check.normalized,
            key_id: check.key_id,
            created_ns: now_ns(),
            descriptors,
        };
        let _guard = self.locks.lock(&digest).await;
        if self.index.contains(&digest).await? {
            return Ok(UploadOutcome::AlreadyExists);
        }
        self.blobs.commit(staged).await?;
        if self.index.insert(&artifact).await? {
            self.bump();
            tracing::info!(digest = %digest, size = artifact.size, "artifact added");
            Ok(UploadOutcome::Added)
        } else {
            Ok(UploadOutcome::AlreadyExists)
        }
    }

    /// Deletes an artifact: index rows first (it disappears at once), then the blob.
    pub async fn delete(&self, digest: &Digest) -> Result<(), Error> {
        let _guard = self.locks.lock(digest).await;
        if !self.index.remove(digest).await? {
            return Err(Error::NotFound);
        }
        self.bump();
        self.blobs.delete(digest).await?;
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

impl Registry {
    /// Checks and stores a signed scan file: its trailer must verify (nothing truncated or
    /// edited) and its signature must verify like an artifact's.
    pub async fn publish_scan(
        &self,
        staged: Staged,
        signature: &str,
    ) -> Result<(UploadOutcome, ScanSummary), Error> {
        let digest = staged.digest();
        let check = self.keys.check(signature, digest.as_bytes())?;
        let path = staged.path().to_path_buf();
        let manifest = tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(path)?;
            Ok::<_, Error>(cairn_scan::Manifest::read(std::io::BufReader::new(file))?)
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
        let created_ns = now_ns();
        let summary = ScanSummary {
            digest: digest.to_hex(),
            host: manifest.header.host,
            roots: manifest.header.roots,
            entries: manifest.trailer.entries,
            errors: manifest.trailer.errors,
            started: manifest.header.started,
            finished: manifest.header.finished,
            size: staged.size(),
            signature: check.normalized,
            key_id: check.key_id,
            created_at: time_of(created_ns),
        };
        let _guard = self.locks.lock(&digest).await;
        if let Some(existing) = self.index.scan(&digest).await? {
            return Ok((UploadOutcome::AlreadyExists, existing));
        }
        self.blobs.commit(staged).await?;
        let outcome = if self.index.insert_scan(&summary, created_ns).await? {
            tracing::info!(digest = %digest, host = %summary.host, "scan added");
            UploadOutcome::Added
        } else {
            UploadOutcome::AlreadyExists
        };
        Ok((outcome, summary))
    }

    /// Stored scans, newest first, of one host or of all.
    pub async fn scans(&self, host: Option<&str>, limit: u32) -> Result<Vec<ScanSummary>, Error> {
        self.index.scans(host, limit).await
    }

    /// A stored scan's summary.
    pub async fn scan(&self, digest: &Digest) -> Result<Option<ScanSummary>, Error> {
        self.index.scan(digest).await
    }
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
