//! `cairn admin reindex`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use cairn_registry::{Registry, RegistryConfig};

/// `cairn admin …`
#[derive(Debug, clap::Subcommand)]
pub enum AdminCommand {
    /// Rebuild the index database from the transparency log alone (stop the server first).
    Reindex {
        /// The registry's data directory.
        #[arg(long)]
        data: PathBuf,
        /// Log key file [default: DATA/keys/log.pem].
        #[arg(long)]
        log_key: Option<PathBuf>,
        /// Log origin [default: HOSTNAME/log].
        #[arg(long)]
        log_origin: Option<String>,
    },
}

/// Runs `cairn admin`.
pub fn run(cmd: AdminCommand) -> anyhow::Result<ExitCode> {
    let AdminCommand::Reindex {
        data,
        log_key,
        log_origin,
    } = cmd;
    if !data.join("log/checkpoint").exists() {
        anyhow::bail!("{} holds no transparency log", data.display());
    }
    let mut config = RegistryConfig::new(&data);
    config.log_key = log_key;
    config.log_origin = log_origin;
    let runtime = tokio::runtime::Runtime::new()?;
    let size = runtime.block_on(async {
        let registry = Registry::reindex(config)
            .await
            .context("rebuilding the index")?;
        Ok::<_, anyhow::Error>(registry.log().size())
    })?;
    println!("index rebuilt from {size} log entries");
    Ok(ExitCode::SUCCESS)
}
