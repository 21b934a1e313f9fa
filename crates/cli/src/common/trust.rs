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
