//! The agent's configuration file (`/etc/cairn/agent.toml` in the initramfs): where the
//! registry is, who this host is, its key and token, the registry's log key, and what to
//! scan. The kernel command line (`cairn.registry=`, `cairn.host=`) overrides the first two.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// What a boot scan skips by default: kernel and runtime filesystems, scratch space.
pub const DEFAULT_EXCLUDES: &[&str] = &["/proc", "/sys", "/dev", "/run", "/tmp", "/var/tmp"];

/// `agent.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Registry URL (`https://…`, or `http://…` on a trusted network).
    pub registry: Option<String>,
    /// This host's name, as enrolled (`cairn admin host add NAME`).
    pub host: Option<String>,
    /// The host's private key (PKCS#8 PEM, secp256k1 or P-256).
    pub key: PathBuf,
    /// A file holding the host's token (`cairn admin host add --token-out`).
    pub token: PathBuf,
    /// The registry's log verifier key (`cairn log key`): a scan counts as submitted, and
    /// its report is believed, only once its entry is proven in that log.
    pub log_key: String,
    /// Roots to scan, as the scanned system sees them.
    #[serde(default = "default_paths")]
    pub paths: Vec<PathBuf>,
    /// Globs to skip, as the scanned system sees them.
    #[serde(default = "default_excludes")]
    pub exclude: Vec<String>,
    /// Stay on the filesystem of each root.
    #[serde(default = "yes")]
    pub one_file_system: bool,
}

fn default_paths() -> Vec<PathBuf> {
    vec![PathBuf::from("/")]
}

fn default_excludes() -> Vec<String> {
    DEFAULT_EXCLUDES.iter().map(|s| (*s).to_owned()).collect()
}

fn yes() -> bool {
    true
}

impl Config {
    /// Reads and checks `path`; relative key and token paths are taken from its directory.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the configuration {}", path.display()))?;
        let mut config: Config =
            toml::from_str(&text).with_context(|| format!("configuration {}", path.display()))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        config.key = dir.join(&config.key);
        config.token = dir.join(&config.token);
        Ok(config)
    }

    /// The host token, trimmed.
    pub fn read_token(&self) -> anyhow::Result<String> {
        let text = std::fs::read_to_string(&self.token)
            .with_context(|| format!("reading the host token {}", self.token.display()))?;
        let token = text.trim().to_owned();
        anyhow::ensure!(!token.is_empty(), "{} is empty", self.token.display());
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_in_and_relative_paths_follow_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.toml");
        std::fs::write(
            &path,
            "registry = \"http://10.0.2.2:3000\"\nkey = \"host.pem\"\ntoken = \"/etc/t\"\nlog_key = \"k\"\n",
        )
        .unwrap();
        let c = Config::load(&path).unwrap();
        assert_eq!(c.key, dir.path().join("host.pem"));
        assert_eq!(c.token, PathBuf::from("/etc/t"));
        assert_eq!(c.paths, [PathBuf::from("/")]);
        assert!(c.exclude.contains(&"/proc".to_owned()));
        assert!(c.one_file_system);
        assert_eq!(c.host, None);
    }

    #[test]
    fn an_unknown_setting_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.toml");
        std::fs::write(
            &path,
            "key = \"k\"\ntoken = \"t\"\nlog_key = \"k\"\nregsitry = \"x\"\n",
        )
        .unwrap();
        let e = format!("{:#}", Config::load(&path).unwrap_err());
        assert!(e.contains("regsitry"), "{e}");
    }
}
