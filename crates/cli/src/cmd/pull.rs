//! `cairn pull`: fetch a plugin or a package and prove it before keeping it
//! (`cairn_client::pull` and `cairn_client::pull_package` do the checks: the bytes, the
//! user's own policy and the log, never the registry's words).
//!
//! The download goes to a temporary file outside `--out`; only when every check passed is it
//! moved into place: a plugin with a `.meta` sidecar made from what was verified, a package
//! with its signature files and the tlog-proof of its log entry.

use std::path::PathBuf;
use std::process::ExitCode;

use cairn_client::PullRequest;

use crate::common::filters::Filters;
use crate::common::remote::{Bar, Remote, RemoteArgs};
use crate::common::trust::{log_state, policy};

/// Arguments of `cairn pull`.
#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// NAME or NAME:VERSION, of a plugin or a package.
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
    let policy = policy(args.trust.clone())?;
    let (name, version) = match args.plugin.split_once(':') {
        Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
        None => (args.plugin.clone(), None),
    };
    let state = log_state()?;
    if is_package(&remote, &name, version.as_deref())? {
        return pull_package(&remote, &policy, &state, &name, version.as_deref(), &args);
    }
    let query = args.filters.query(1)?;
    let mut request = PullRequest::for_host(&name, version.or(query.version).as_deref());
    request.file_type = query.file_type.unwrap_or(request.file_type);
    request.architecture = query.architecture.unwrap_or(request.architecture);
    request.abi = query.abi;
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

/// Whether the registry publishes `name` (at `version`) as a package: a claim that only
/// picks the route; what is kept is proven either way.
fn is_package(remote: &Remote, name: &str, version: Option<&str>) -> anyhow::Result<bool> {
    let found = match version {
        Some(v) => remote
            .runtime
            .block_on(remote.client.package(name, v))
            .map(|_| true),
        None => remote
            .runtime
            .block_on(remote.client.package_versions(name, 1))
            .map(|l| !l.packages.is_empty()),
    };
    match found {
        Ok(found) => Ok(found),
        Err(cairn_client::Error::Status { status, .. }) if status.as_u16() == 404 => Ok(false),
        Err(e) => Err(e.into()),
    }
}

fn pull_package(
    remote: &Remote,
    policy: &cairn_sign::policy::Policy,
    state: &cairn_client::LogState,
    name: &str,
    version: Option<&str>,
    args: &PullArgs,
) -> anyhow::Result<ExitCode> {
    let verified = remote.runtime.block_on(cairn_client::pull_package(
        &remote.client,
        policy,
        state,
        name,
        version,
        &Bar::new(name),
    ))?;
    let (facts, signer) = (verified.facts.clone(), verified.signer.clone());
    let installed = verified.install(&args.out)?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({"name": facts.name, "version": facts.version,
                "digest": facts.digest, "file": installed.file,
                "signatures": installed.signatures, "proof": installed.proof,
                "log_index": facts.log_index, "signer": signer})
        );
    } else {
        println!(
            "{} {} verified and written to {} with {} signature file(s) and {} (allowed by policy signer {signer:?})",
            facts.name,
            facts.version,
            installed.file.display(),
            installed.signatures.len(),
            installed.proof.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
