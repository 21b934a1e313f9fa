//! `cairn trust publish`: a registry operator publishes a signed policy; its `policy`
//! entry is proven in the log, so every rotation and revocation is seen by everyone.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use cairn_api::{LogEntry, SearchKey};
use sha2::{Digest as _, Sha256};

use crate::common::remote::{Remote, RemoteArgs};
use crate::common::trust::log_state;

/// `cairn trust publish`.
#[derive(Debug, clap::Args)]
pub struct PublishArgs {
    /// The signed policy file.
    policy: PathBuf,
    /// The registry log's verifier key; else the policy's own pinned log.
    #[arg(long)]
    log_key: Option<String>,
    #[command(flatten)]
    remote: RemoteArgs,
}

/// Publishes the policy, then proves its entry under the log key.
pub fn run(args: PublishArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.policy)
        .with_context(|| format!("reading {}", args.policy.display()))?;
    let policy = cairn_sign::policy::Policy::parse(&text)?;
    policy
        .verify(chrono::Utc::now())
        .with_context(|| format!("{} cannot be published", args.policy.display()))?;
    let key = match (&args.log_key, policy.log_key()) {
        (Some(k), _) => k.clone(),
        (None, Some(k)) => k.to_owned(),
        (None, None) => bail!("the policy pins no log: pass --log-key VKEY (`cairn log key`)"),
    };
    let log = cairn_tlog::NoteVerifier::parse(&key).context("invalid log key")?;
    let remote = Remote::new(&args.remote)?;
    remote.client.require_token()?;
    let state = log_state()?;
    let digest = hex::encode(Sha256::digest(text.as_bytes()));
    let published = remote
        .runtime
        .block_on(remote.client.publish_policy(text))
        .context("publishing the policy")?;
    let proven = remote.runtime.block_on(cairn_client::search::search(
        &remote.client,
        SearchKey::Digest,
        &digest,
        None,
        &log,
        &state,
    ))?;
    let entry = proven.hits.iter().find(|h| {
        h.index == published.policy.log_index
            && matches!(&h.entry, LogEntry::Policy { digest: d, .. } if *d == digest)
    });
    let Some(entry) = entry else {
        bail!(
            "the registry says entry {} publishes the policy, but the log proves no such entry",
            published.policy.log_index
        );
    };
    println!(
        "policy version {} {} at entry {} (signed by {} root(s)); inclusion proven in the \
         checkpoint of {} entries",
        published.policy.version,
        match published.outcome {
            cairn_api::UploadOutcome::Added => "published",
            cairn_api::UploadOutcome::AlreadyExists => "was published already",
        },
        entry.index,
        published.policy.roots.len(),
        proven.checkpoint.map_or(0, |c| c.size)
    );
    Ok(ExitCode::SUCCESS)
}
