//! Talking to a registry: where it is, the token, the config file, progress bars.
//!
//! Registry URL and token come from the flag, else `CAIRN_REGISTRY` / `CAIRN_TOKEN`, else
//! the config file (`$XDG_CONFIG_HOME/cairn/config.toml`, by default
//! `~/.config/cairn/config.toml`; `CAIRN_CONFIG` names another file).

use std::path::PathBuf;

use anyhow::{Context, bail};
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

/// A registry to talk to.
pub struct Remote {
    /// Base URL without the trailing slash.
    pub base: String,
    token: Option<String>,
    /// HTTP client.
    pub http: reqwest::Client,
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
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            bail!("registry URL {base:?} must start with http:// or https://");
        }
        Ok(Remote {
            base: base.trim_end_matches('/').to_owned(),
            token: args.token.clone().or(config.token),
            http: reqwest::Client::builder()
                .user_agent(concat!("cairn/", env!("CARGO_PKG_VERSION")))
                .build()?,
            runtime: tokio::runtime::Runtime::new().context("starting the async runtime")?,
        })
    }

    /// The token, or a clear error.
    pub fn token(&self) -> anyhow::Result<&str> {
        self.token.as_deref().context(
            "no token: pass --token, set CAIRN_TOKEN, or put token = \"…\" in the config file",
        )
    }

    /// `GET path` as JSON; non-2xx statuses become errors carrying the server's message.
    pub async fn get_json(&self, path: &str) -> anyhow::Result<serde_json::Value> {
        let url = format!("{}{path}", self.base);
        let r = self
            .http
            .get(&url)
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        let status = r.status();
        let text = r.text().await.with_context(|| format!("GET {url}"))?;
        if !status.is_success() {
            bail!("GET {url}: {status}: {}", text.trim());
        }
        serde_json::from_str(&text).with_context(|| format!("GET {url}: not JSON"))
    }
}

/// A byte-count progress bar on stderr (hidden when stderr is not a terminal).
pub fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg:20!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

/// The host's plugin file type and architecture, in the registry's spelling.
pub fn host() -> (&'static str, &'static str) {
    let file_type = if cfg!(target_os = "windows") {
        "pe"
    } else if cfg!(target_os = "macos") {
        "mach"
    } else {
        "elf"
    };
    let arch = if cfg!(target_arch = "x86_64") {
        "x86_64"
    } else if cfg!(target_arch = "aarch64") {
        "arm64"
    } else if cfg!(target_arch = "x86") {
        "x86"
    } else {
        "arm"
    };
    (file_type, arch)
}
