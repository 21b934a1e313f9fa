//! Talking to a registry: where it is, the token, the config file, progress bars.
//!
//! Registry URL and token come from the flag, else `CAIRN_REGISTRY` / `CAIRN_TOKEN`, else
//! the config file (`$XDG_CONFIG_HOME/cairn/config.toml`, by default
//! `~/.config/cairn/config.toml`; `CAIRN_CONFIG` names another file).

use std::path::PathBuf;

use anyhow::Context;
use serde::Deserialize;

/// The config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Registry URL.
    pub registry: Option<String>,
    /// Write token.
    pub token: Option<String>,
    /// Trust policy file.
    pub trust: Option<PathBuf>,
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// Where the config file is.
pub fn config_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CAIRN_CONFIG") {
        return Some(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".config")))?;
    Some(base.join("cairn/config.toml"))
}

/// Where client state (saved checkpoints) lives: `$XDG_STATE_HOME/cairn`, by default
/// `~/.local/state/cairn`.
pub fn state_dir() -> anyhow::Result<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".local/state")))
        .context("neither XDG_STATE_HOME nor HOME is set")?;
    Ok(base.join("cairn"))
}

/// Reads the config file, if there is one.
pub fn config() -> anyhow::Result<Config> {
    let Some(path) = config_path() else {
        return Ok(Config::default());
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            toml::from_str(&text).with_context(|| format!("config file {}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// `--registry` and `--token`.
#[derive(Debug, Clone, clap::Args)]
pub struct RemoteArgs {
    /// Registry URL (else the config file's `registry`).
    #[arg(long, env = "CAIRN_REGISTRY", global = true)]
    pub registry: Option<String>,
    /// Write token (else the config file's `token`).
    #[arg(long, env = "CAIRN_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
}

/// A registry to talk to: the client, and the runtime the commands block on.
pub struct Remote {
    /// The typed client.
    pub client: cairn_client::Client,
    /// The async runtime the commands run on.
    pub runtime: tokio::runtime::Runtime,
}

impl Remote {
    /// Resolves flags, environment and config file.
    pub fn new(args: &RemoteArgs) -> anyhow::Result<Self> {
        let config = config()?;
        let base = args
            .registry
            .clone()
            .or(config.registry)
            .context("no registry: pass --registry URL, set CAIRN_REGISTRY, or put registry = \"URL\" in the config file")?;
        Ok(Remote {
            client: cairn_client::Client::new(&base)?
                .with_token(args.token.clone().or(config.token)),
            runtime: tokio::runtime::Runtime::new().context("starting the async runtime")?,
        })
    }
}

/// A byte-count progress bar on stderr (hidden when stderr is not a terminal).
pub struct Bar(indicatif::ProgressBar);

impl Bar {
    /// A bar labelled `what`.
    pub fn new(what: &str) -> Self {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg:20!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(what.to_owned());
        Bar(bar)
    }

    /// A bar counting items (`what`: entries, artifacts) rather than bytes.
    pub fn count(what: &str) -> Self {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg:20!} [{bar:30}] {pos}/{len} {per_sec}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(what.to_owned());
        Bar(bar)
    }
}

impl cairn_client::Progress for Bar {
    fn start(&self, total: Option<u64>) {
        self.0.set_length(total.unwrap_or(0));
    }
    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}
