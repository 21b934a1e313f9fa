//! `--upstream` and its companions: what `cairn serve` (as a mirror) and `cairn mirror
//! sync` need to know about the registry they mirror.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use cairn_mirror::MirrorConfig;

/// The registry to mirror and how to trust it.
#[derive(Debug, Clone, clap::Args)]
pub struct UpstreamArgs {
    /// The registry to mirror (`http://…`, `https://…`); with it, `cairn serve` is a
    /// read-only pull-through mirror of that registry [env: CAIRN_UPSTREAM]
    #[arg(long, env = "CAIRN_UPSTREAM")]
    pub upstream: Option<String>,
    /// The upstream log's verifier key (`cairn log key` on the upstream): every checkpoint,
    /// proof and artifact the mirror keeps is verified under it
    #[arg(long, env = "CAIRN_UPSTREAM_LOG_KEY", requires = "upstream")]
    pub upstream_log_key: Option<String>,
    /// A signed trust policy every mirrored artifact's signature must pass before it is kept
    #[arg(long, env = "CAIRN_UPSTREAM_TRUST", requires = "upstream")]
    pub upstream_trust: Option<PathBuf>,
    /// Seconds a listing from the upstream is served before it is asked again (stale ones
    /// are served while the upstream is unreachable)
    #[arg(long, env = "CAIRN_UPSTREAM_TTL", default_value_t = cairn_mirror::DEFAULT_LISTING_TTL.as_secs())]
    pub upstream_ttl: u64,
    /// Keep every entry bundle of the upstream log, not only those requests needed
    #[arg(long, requires = "upstream")]
    pub mirror_log: bool,
    /// Also publish local plugins: uploads (with the write token) go into a registry of the
    /// mirror's own, served beside the mirrored ones, logged in the mirror's own log at
    /// /local/log (the upstream's stays at /log)
    #[arg(long, env = "CAIRN_ALLOW_LOCAL", requires = "upstream")]
    pub allow_local: bool,
}

impl UpstreamArgs {
    /// The mirror's settings, kept in `DATA/mirror`; `None` without `--upstream`.
    pub fn to_config(&self, data: &Path) -> anyhow::Result<Option<MirrorConfig>> {
        let Some(upstream) = &self.upstream else {
            return Ok(None);
        };
        let key = self.upstream_log_key.as_deref().context(
            "--upstream needs --upstream-log-key VKEY (`cairn log key` on the upstream)",
        )?;
        let key = cairn_tlog::NoteVerifier::parse(key).context("invalid --upstream-log-key")?;
        let mut config = MirrorConfig::new(upstream, key, data.join("mirror"));
        if let Some(path) = &self.upstream_trust {
            let policy = cairn_sign::policy::Policy::load(path, chrono::Utc::now())
                .with_context(|| format!("loading the upstream trust policy {}", path.display()))?;
            if let Some(pinned) = policy.log_key() {
                let pinned = cairn_tlog::NoteVerifier::parse(pinned)
                    .context("the upstream trust policy's log key")?;
                anyhow::ensure!(
                    pinned.name() == config.log_key.name() && pinned.id() == config.log_key.id(),
                    "the upstream trust policy pins log {}, not the --upstream-log-key {}",
                    pinned.name(),
                    config.log_key.name()
                );
            }
            config.policy = Some(policy);
        }
        config.listing_ttl = Duration::from_secs(self.upstream_ttl);
        config.mirror_log = self.mirror_log;
        Ok(Some(config))
    }
}
