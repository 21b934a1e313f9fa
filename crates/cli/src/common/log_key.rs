//! `--log-key` and `--log-origin`, flattened into every command that opens a registry's
//! log; the defaults are the registry's own ([`cairn_registry::LogKey`]).

use std::path::PathBuf;

/// The log's signing key and origin.
#[derive(Debug, Clone, clap::Args)]
pub struct LogKeyArgs {
    /// Transparency-log signing key, PKCS#8 Ed25519 PEM [default: DATA/keys/log.pem,
    /// which `cairn serve` generates on first start]
    #[arg(long, env = "CAIRN_LOG_KEY")]
    pub log_key: Option<PathBuf>,
    /// Transparency-log origin, also the key name [default: HOSTNAME/log]
    #[arg(long, env = "CAIRN_LOG_ORIGIN")]
    pub log_origin: Option<String>,
}

impl LogKeyArgs {
    /// As the registry takes them.
    pub fn to_log_key(&self) -> cairn_registry::LogKey {
        cairn_registry::LogKey {
            key: self.log_key.clone(),
            origin: self.log_origin.clone(),
        }
    }
}
