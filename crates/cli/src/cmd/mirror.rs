//! `cairn mirror sync`: fill a mirror's directory ahead of need.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use cairn_mirror::Mirror;

use crate::common::remote::Bar;
use crate::common::upstream::UpstreamArgs;

/// `cairn mirror …`.
#[derive(Debug, clap::Subcommand)]
pub enum MirrorCommand {
    /// Verify the whole upstream log and fetch every live artifact (or those whose plugin
    /// name matches --name) into the mirror's directory. Run it while the mirror is not
    /// serving from the same directory.
    Sync(SyncArgs),
}

/// Arguments of `cairn mirror sync`.
#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    #[command(flatten)]
    upstream: UpstreamArgs,
    /// The data directory `cairn serve --upstream` serves from [env: CAIRN_DATA] [default: ./cairn-data]
    #[arg(long)]
    data: Option<PathBuf>,
    /// Only plugins whose name matches this glob (repeat for several)
    #[arg(long = "name")]
    names: Vec<String>,
}

/// Runs a `mirror` subcommand.
pub fn run(cmd: MirrorCommand) -> anyhow::Result<ExitCode> {
    let MirrorCommand::Sync(args) = cmd;
    let data = args
        .data
        .or_else(|| crate::common::env::first_set(&["CAIRN_DATA"]).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("./cairn-data"));
    let config = args
        .upstream
        .to_config(&data)?
        .context("pass --upstream URL: the registry to mirror")?;
    let names = if args.names.is_empty() {
        None
    } else {
        let mut set = globset::GlobSetBuilder::new();
        for n in &args.names {
            set.add(globset::Glob::new(n).with_context(|| format!("invalid --name glob {n:?}"))?);
        }
        Some(set.build()?)
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let report = runtime.block_on(async move {
        let mirror = Mirror::open(config)?;
        let entries = Bar::count("log entries");
        let artifacts = Bar::count("artifacts");
        mirror.sync(names.as_ref(), &entries, &artifacts).await
    })?;
    println!(
        "verified {} log entries; {} artifacts live, {} fetched now",
        report.entries, report.artifacts, report.fetched
    );
    Ok(ExitCode::SUCCESS)
}
