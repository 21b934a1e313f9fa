//! `cairn pull`: fetch a plugin and prove it before keeping it (`cairn_client::pull` does
//! the checks: the bytes, the user's own policy and the log, never the registry's words).
//!
//! The download goes to a temporary file outside `--out`; only when every check passed is it
//! moved into place, with a `.meta` sidecar made from what was verified.

use std::path::PathBuf;
use std::process::ExitCode;

use cairn_client::PullRequest;

use crate::common::filters::Filters;
use crate::common::remote::{Bar, Remote, RemoteArgs};
use crate::common::trust::{log_state, policy};

/// Arguments of `cairn pull`.
#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// NAME or NAME:VERSION.
    plugin: String,
    /// The trust policy to check against [config: trust].
    #[arg(long)]
    trust: Option<PathBuf>,
    /// Directory to write the plugin and its `.meta` into.
    #[arg(long, default_value = ".")]
    out: PathBuf,
    #[command(flatten)]
    filters: Filters,
    /// Print what was written as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    remote: RemoteArgs,
}

/// Runs `cairn pull`.
pub fn pull(args: PullArgs) -> anyhow::Result<ExitCode> {
    let remote = Remote::new(&args.remote)?;
    let policy = policy(args.trust)?;
    let (name, version) = match args.plugin.split_once(':') {
        Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
        None => (args.plugin.clone(), None),
    };
    let query = args.filters.query(1)?;
    let mut request = PullRequest::for_host(&name, version.or(query.version).as_deref());
    request.file_type = query.file_type.unwrap_or(request.file_type);
    request.architecture = query.architecture.unwrap_or(request.architecture);
    request.abi = query.abi;
    let state = log_state()?;
    let verified = remote.runtime.block_on(cairn_client::pull(
        &remote.client,
        &policy,
        &state,
        &request,
        &Bar::new(&name),
    ))?;
    let (version, signer) = (verified.descriptor.version.clone(), verified.signer.clone());
    let digest = verified.meta.digest.clone();
    let installed = verified.install(&args.out)?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({"digest": digest, "file": installed.file, "meta": installed.meta,
                "name": name, "version": version, "signer": signer})
        );
    } else {
        println!(
            "{name} {version} verified and written to {} (allowed by policy signer {signer:?})",
            installed.file.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
