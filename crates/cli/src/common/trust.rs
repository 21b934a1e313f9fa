//! The user's own trust state: the policy they hold and the checkpoints they have seen.

use std::path::PathBuf;

use anyhow::Context;
use cairn_client::LogState;
use cairn_sign::policy::Policy;

use super::remote::{config, state_dir};

/// The policy of `--trust`, else the config file's, checked as of now.
pub fn policy(trust: Option<PathBuf>) -> anyhow::Result<Policy> {
    let trust = match trust {
        Some(t) => t,
        None => config()?.trust.context(
            "no trust policy: pass --trust POLICY or put trust = \"FILE\" in the config file",
        )?,
    };
    Ok(Policy::load(&trust, chrono::Utc::now())?)
}

/// Where this client keeps the checkpoints it saw.
pub fn log_state() -> anyhow::Result<LogState> {
    Ok(LogState::new(state_dir()?.join("checkpoints")))
}

/// The log key entries are proven under: `--log-key`, else the pinned log of the policy
/// of `--trust` (or of the config file's).
pub fn log_verifier(
    log_key: Option<&str>,
    trust: Option<PathBuf>,
) -> anyhow::Result<cairn_tlog::NoteVerifier> {
    let key = match log_key {
        Some(k) => k.to_owned(),
        None => policy(trust)?
            .log_key()
            .context("the trust policy pins no log: pass --log-key VKEY (`cairn log key`)")?
            .to_owned(),
    };
    cairn_tlog::NoteVerifier::parse(&key).context("invalid log key")
}

/// `--log-key` and `--trust`: the log key entries are proven under.
#[derive(Debug, Clone, clap::Args)]
pub struct ProofArgs {
    /// The log's verifier key (`cairn log key`); else the trust policy's pinned log.
    #[arg(long)]
    pub log_key: Option<String>,
    /// The trust policy whose pinned log to use [config: trust].
    #[arg(long)]
    pub trust: Option<PathBuf>,
}

impl ProofArgs {
    /// The log key (see [`log_verifier`]).
    pub fn verifier(&self) -> anyhow::Result<cairn_tlog::NoteVerifier> {
        log_verifier(self.log_key.as_deref(), self.trust.clone())
    }
}
