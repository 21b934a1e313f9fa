//! How to open a registry: every setting, each default written once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cairn_tlog::keyfile;

/// How long a write waits by default for the shared log's leader to cover its entry: long
/// enough for a takeover after the leader dies, or its machine vanishes.
pub const DEFAULT_LOG_WAIT: Duration = Duration::from_secs(30);

/// Default upload size limit: 256 MiB.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 256 * 1024 * 1024;

/// The log's signing key and origin, as given; the defaults are resolved here and nowhere
/// else.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogKey {
    /// Key file (PKCS#8 Ed25519 PEM); default `<data>/keys/log.pem`.
    pub key: Option<PathBuf>,
    /// Origin, also the key's name; default `<hostname>/log`.
    pub origin: Option<String>,
}

impl LogKey {
    /// The key file of the registry in `data_dir`.
    pub fn path(&self, data_dir: &Path) -> PathBuf {
        self.key
            .clone()
            .unwrap_or_else(|| keyfile::default_path(data_dir))
    }

    /// The log origin.
    pub fn origin(&self) -> String {
        self.origin.clone().unwrap_or_else(keyfile::default_origin)
    }
}

/// How to open a registry.
#[derive(Clone, Debug)]
pub struct RegistryConfig {
    /// Data directory: index database, blobs, staging area.
    pub data_dir: PathBuf,
    /// Files of PEM public keys uploads must be signed with (empty: store unverified).
    pub public_keys: Vec<PathBuf>,
    /// Largest accepted upload in bytes.
    pub max_upload_bytes: u64,
    /// Log signing key (generated at its default path if missing) and origin.
    pub log: LogKey,
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
    pub log_wait: Duration,
}

impl RegistryConfig {
    /// Defaults for a data directory: no keys, 256 MiB uploads.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        RegistryConfig {
            data_dir: data_dir.into(),
            public_keys: Vec::new(),
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            log: LogKey::default(),
            database: None,
            trust: None,
            object_store: None,
            s3_endpoint: None,
            log_wait: DEFAULT_LOG_WAIT,
        }
    }

    /// Where the log key is read from (or generated at).
    pub fn log_key_path(&self) -> PathBuf {
        self.log.path(&self.data_dir)
    }
}
