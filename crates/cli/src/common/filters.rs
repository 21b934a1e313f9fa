//! `--plugin-version`, `--file-type`, `--architecture`, `--abi`: choosing variants of a
//! plugin (`ls` and `pull`).

use anyhow::Context;
use cairn_api::{Architecture, FileType};
use cairn_client::VariantQuery;

/// Filters shared by `ls` and `pull`.
#[derive(Debug, Clone, clap::Args)]
pub struct Filters {
    /// Plugin version (`pull` also takes NAME:VERSION).
    #[arg(long = "plugin-version", id = "plugin_version")]
    pub version: Option<String>,
    /// File type: elf, pe, mach.
    #[arg(long)]
    pub file_type: Option<String>,
    /// Architecture: x86_64, x86, arm64, arm.
    #[arg(long)]
    pub architecture: Option<String>,
    /// memflow plugin ABI version.
    #[arg(long)]
    pub abi: Option<i32>,
}

impl Filters {
    /// The registry query, or a clear error for a file type or architecture that no
    /// registry knows.
    pub fn query(&self, limit: u32) -> anyhow::Result<VariantQuery> {
        let file_type = self
            .file_type
            .as_deref()
            .map(|f| {
                FileType::parse(f)
                    .with_context(|| format!("--file-type {f:?}: expected elf, pe or mach"))
            })
            .transpose()?;
        let architecture = self
            .architecture
            .as_deref()
            .map(|a| {
                Architecture::from_key(a).with_context(|| {
                    format!("--architecture {a:?}: expected x86_64, x86, arm64 or arm")
                })
            })
            .transpose()?;
        Ok(VariantQuery {
            version: self.version.clone(),
            file_type,
            architecture,
            abi: self.abi,
            limit: Some(limit),
        })
    }
}
