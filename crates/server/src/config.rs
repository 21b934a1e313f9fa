//! What `cairn serve` needs to start.

use std::net::SocketAddr;
use std::path::PathBuf;

use cairn_registry::DEFAULT_MAX_UPLOAD_BYTES;

use crate::token::BearerToken;

/// Server configuration, already resolved from flags, environment and defaults.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// Data directory (created if missing).
    pub data_dir: PathBuf,
    /// Write token; `None` generates one on first start and keeps it in the data directory.
    pub token: Option<BearerToken>,
    /// PEM public key files uploads must verify under.
    pub public_keys: Vec<PathBuf>,
    /// Largest accepted upload in bytes (answered with 413 beyond).
    pub max_upload_bytes: u64,
    /// Log signing key file (default `<data>/keys/log.pem`, generated if missing).
    pub log_key: Option<PathBuf>,
    /// Log origin (default `<hostname>/log`).
    pub log_origin: Option<String>,
    /// PostgreSQL URL of the index; `None` uses SQLite in the data directory.
    pub database: Option<String>,
    /// Signed trust policy uploads must pass (its signer keys verify signatures).
    pub trust: Option<PathBuf>,
    /// Shared object store (`s3://bucket/prefix`); `None` keeps objects in the data directory.
    pub object_store: Option<String>,
    /// Endpoint of a non-AWS S3-compatible store.
    pub s3_endpoint: Option<String>,
    /// How long a write waits for the shared log's leader before a 503.
    pub log_wait: std::time::Duration,
    /// Timeouts, body rate and connection cap.
    pub limits: crate::Limits,
}

impl ServerConfig {
    /// Defaults: generated token, no keys, 256 MiB uploads.
    pub fn new(addr: SocketAddr, data_dir: impl Into<PathBuf>) -> Self {
        ServerConfig {
            addr,
            data_dir: data_dir.into(),
            token: None,
            public_keys: Vec::new(),
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            log_key: None,
            log_origin: None,
            database: None,
            trust: None,
            object_store: None,
            s3_endpoint: None,
            log_wait: cairn_registry::DEFAULT_LOG_WAIT,
            limits: crate::Limits::default(),
        }
    }
}
