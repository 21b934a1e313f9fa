//! `cairn log verify`: audit a whole transparency log; `cairn log search`: find entries,
//! each proven.

mod search;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use cairn_tlog::{DirStore, Fetcher, NoteVerifier, verify_log};

use crate::common::log_key::LogKeyArgs;

/// `cairn log …`
#[derive(Debug, clap::Subcommand)]
pub enum LogCommand {
    /// Print the verifier key of a registry's log (`name+hexid+base64`).
    Key {
        /// The registry's data directory (key at DATA/keys/log.pem).
        #[arg(long, required_unless_present = "log_key")]
        data: Option<PathBuf>,
        #[command(flatten)]
        log: LogKeyArgs,
    },
    /// Check the checkpoint signature, recompute the root from every entry bundle and tile,
    /// and check consistency with an earlier checkpoint; exit non-zero on any mismatch.
    Verify {
        /// The log: a directory holding `checkpoint` and `tile/`, or its base URL.
        #[arg(long)]
        tiles: String,
        /// The log's verifier key (`name+hexid+base64`).
        #[arg(long)]
        key: String,
        /// An earlier checkpoint of this log that the current one must extend.
        #[arg(long)]
        since: Option<PathBuf>,
        /// Save the verified checkpoint here (for the next --since).
        #[arg(long)]
        save: Option<PathBuf>,
    },
    /// Find entries by digest, subject, material, signer key, name or host, each with a
    /// verified inclusion proof (exit 1 when nothing matched).
    Search(search::SearchArgs),
}

/// Runs `cairn log`.
pub fn run(cmd: LogCommand) -> anyhow::Result<ExitCode> {
    let (tiles, key, since, save) = match cmd {
        LogCommand::Key { data, log } => {
            let log = log.to_log_key();
            let path = match (&log.key, data) {
                (Some(key), _) => key.clone(),
                (None, Some(data)) => log.path(&data),
                (None, None) => anyhow::bail!("give --data or --log-key"),
            };
            let signer = cairn_tlog::keyfile::load(&path, &log.origin())?;
            println!("{}", signer.verifier());
            return Ok(ExitCode::SUCCESS);
        }
        LogCommand::Verify {
            tiles,
            key,
            since,
            save,
        } => (tiles, key, since, save),
        LogCommand::Search(args) => return search::run(args),
    };
    let key = NoteVerifier::parse(&key).context("invalid --key")?;
    let since = since
        .map(|p| std::fs::read(&p).with_context(|| format!("reading {}", p.display())))
        .transpose()?;
    let fetcher: Box<dyn Fetcher> = if tiles.starts_with("http://") || tiles.starts_with("https://")
    {
        Box::new(cairn_client::HttpFetcher::new(&tiles)?)
    } else {
        Box::new(DirStore::open(Path::new(&tiles)).with_context(|| format!("opening {tiles}"))?)
    };
    let verified = verify_log(fetcher.as_ref(), &key, since.as_deref())
        .with_context(|| format!("log {tiles} FAILED verification"))?;
    if let Some(path) = save {
        std::fs::write(&path, &verified.checkpoint)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    println!(
        "log OK: {} entries, root {}",
        verified.size,
        cairn_tlog::writer::b64(&verified.root)
    );
    Ok(ExitCode::SUCCESS)
}
