//! `cairn admin host add|list` and `cairn admin baseline set`: enrol the hosts that submit
//! scans, and set the scan each one is compared with. Both speak to a running registry
//! with its write token; both are logged.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::common::remote::{Remote, RemoteArgs};

/// `cairn admin host …`
#[derive(Debug, clap::Subcommand)]
pub enum HostCommand {
    /// Enrol a host: its scans must name it and verify under KEY. Prints the host's own
    /// token (shown this once), which can submit scans of this host and nothing else.
    Add {
        /// The host's name, as its scans carry it (`cairn.host=` at boot).
        name: String,
        /// Its public key, PEM (secp256k1 or P-256; `cairn keys generate`).
        #[arg(long)]
        key: PathBuf,
        /// Write the token to this file (mode 0600) instead of printing it.
        #[arg(long)]
        token_out: Option<PathBuf>,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// List enrolled hosts: name, key id, baseline.
    List {
        #[command(flatten)]
        remote: RemoteArgs,
    },
}

/// `cairn admin baseline …`
#[derive(Debug, clap::Subcommand)]
pub enum BaselineCommand {
    /// Compare HOST's arriving scans with its stored scan DIGEST from now on.
    Set {
        /// The host.
        host: String,
        /// SHA-256 of one of its stored scans (`cairn scan report HOST` lists them).
        #[arg(long)]
        scan: String,
        #[command(flatten)]
        remote: RemoteArgs,
    },
}

/// Runs `cairn admin host`.
pub fn host(cmd: HostCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        HostCommand::Add {
            name,
            key,
            token_out,
            remote,
        } => {
            let pem = std::fs::read_to_string(&key)
                .with_context(|| format!("reading {}", key.display()))?;
            let remote = Remote::new(&remote)?;
            remote.client.require_token()?;
            let added = remote
                .runtime
                .block_on(remote.client.add_host(&name, &pem))
                .with_context(|| format!("enrolling {name}"))?;
            let index = added.host.log_index.map_or("-".into(), |i| i.to_string());
            eprintln!(
                "cairn: host {} enrolled, key {} (log entry {index})",
                added.host.name,
                &added.host.key_id[..16.min(added.host.key_id.len())]
            );
            match token_out {
                Some(path) => {
                    crate::common::files::write_secret(&path, added.token.as_bytes())?;
                    eprintln!("cairn: its token is in {}", path.display());
                }
                None => println!("{}", added.token),
            }
            Ok(ExitCode::SUCCESS)
        }
        HostCommand::List { remote } => {
            let remote = Remote::new(&remote)?;
            let list = remote.runtime.block_on(remote.client.hosts())?;
            for h in list.hosts {
                println!(
                    "{:<24} key {}  baseline {}",
                    h.name,
                    &h.key_id[..16.min(h.key_id.len())],
                    h.baseline.as_deref().map_or("-", |b| &b[..16.min(b.len())])
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Runs `cairn admin baseline`.
pub fn baseline(cmd: BaselineCommand) -> anyhow::Result<ExitCode> {
    let BaselineCommand::Set { host, scan, remote } = cmd;
    let remote = Remote::new(&remote)?;
    remote.client.require_token()?;
    let set = remote
        .runtime
        .block_on(remote.client.set_baseline(&host, &scan))
        .with_context(|| format!("setting the baseline of {host}"))?;
    println!(
        "baseline of {} is scan {} (log entry {})",
        set.host, set.scan, set.log_index
    );
    Ok(ExitCode::SUCCESS)
}
