//! The witness's configuration file (TOML):
//!
//! ```toml
//! name = "witness.example.org/w1"   # the cosigner name clients pin
//! key = "witness.pem"               # Ed25519 PKCS#8 PEM, created on first start
//! database = "witness.db"           # SQLite, created on first start
//! [[log]]
//! origin = "registry.example.org/log"
//! key = "registry.example.org/log+1a2b3c4d+AV…"   # `cairn log key` on that registry
//! ```
//!
//! Relative paths are relative to the file.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::Error;

/// One witnessed log.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// Its checkpoints' origin line.
    pub origin: String,
    /// Its verifier key.
    pub key: String,
}

/// The whole configuration, paths resolved.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessConfig {
    /// The cosigner name.
    pub name: String,
    /// The key file.
    pub key: PathBuf,
    /// The state database.
    pub database: PathBuf,
    /// The logs witnessed.
    #[serde(default, rename = "log")]
    pub logs: Vec<LogConfig>,
}

impl WitnessConfig {
    /// Reads `path`, resolving relative paths against its directory.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let bad = |reason: String| Error::Config {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let mut config: WitnessConfig = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        config.key = dir.join(&config.key);
        config.database = dir.join(&config.database);
        Ok(config)
    }
}
