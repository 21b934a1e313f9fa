//! The filters of `GET /plugins/{name}`.

use cairn_api::{Architecture, FileType};

use crate::client::urlencode;

/// Which variants of a plugin to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VariantQuery {
    /// Plugin version (or a digest prefix, as memflow-registry allows).
    pub version: Option<String>,
    /// Container format.
    pub file_type: Option<FileType>,
    /// CPU architecture.
    pub architecture: Option<Architecture>,
    /// memflow plugin ABI version.
    pub abi: Option<i32>,
    /// Most variants returned (the server clamps it to 50; default 5).
    pub limit: Option<u32>,
}

impl VariantQuery {
    /// The query string.
    pub fn to_query(&self) -> String {
        let mut q = Vec::new();
        let mut add = |k: &str, v: &str| q.push(format!("{k}={}", urlencode(v)));
        if let Some(l) = self.limit {
            add("limit", &l.to_string());
        }
        if let Some(v) = &self.version {
            add("version", v);
        }
        if let Some(f) = self.file_type {
            add("file_type", f.as_str());
        }
        if let Some(a) = self.architecture {
            add("architecture", &a.to_key());
        }
        if let Some(v) = self.abi {
            add("memflow_plugin_version", &v.to_string());
        }
        q.join("&")
    }

    /// The host's file type and architecture (what `cairn pull` installs by default).
    pub fn host() -> (FileType, Architecture) {
        let file_type = if cfg!(target_os = "windows") {
            FileType::Pe
        } else if cfg!(target_os = "macos") {
            FileType::Mach
        } else {
            FileType::Elf
        };
        let arch = if cfg!(target_arch = "x86_64") {
            Architecture::X86_64
        } else if cfg!(target_arch = "aarch64") {
            Architecture::Arm64
        } else if cfg!(target_arch = "x86") {
            Architecture::X86
        } else {
            Architecture::Arm
        };
        (file_type, arch)
    }
}
