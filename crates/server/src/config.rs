//! What `cairn serve` needs to start.

use std::net::SocketAddr;
use std::path::PathBuf;

use cairn_registry::RegistryConfig;

use crate::token::BearerToken;

/// Server configuration, already resolved from flags, environment and defaults: the
/// registry's own settings, and what only the HTTP side needs.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// Write token; `None` generates one on first start and keeps it in the data directory.
    pub token: Option<BearerToken>,
    /// Timeouts, body rate and connection cap.
    pub limits: crate::Limits,
    /// The registry: data directory, keys, log, index and object store (uploads beyond its
    /// `max_upload_bytes` are answered 413).
    pub registry: RegistryConfig,
}

impl ServerConfig {
    /// Defaults: generated token, no keys, 256 MiB uploads.
    pub fn new(addr: SocketAddr, data_dir: impl Into<PathBuf>) -> Self {
        ServerConfig {
            addr,
            token: None,
            limits: crate::Limits::default(),
            registry: RegistryConfig::new(data_dir),
        }
    }
}
