//! Plugin descriptors as the analyzer reports them, serialised exactly as memflow-registry
//! does: the one definition the parser, the registry, the server and the client share.

use serde::{Deserialize, Serialize};

/// What a descriptor plugs into memflow as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PluginKind {
    /// A physical memory connector (`MEMFLOW_CONNECTOR_*`).
    Connector,
    /// An operating-system layer (`MEMFLOW_OS_*`).
    Os,
}

impl PluginKind {
    /// The name used in JSON and in query strings.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Connector => "connector",
            PluginKind::Os => "os",
        }
    }

    /// Parses the form written by [`PluginKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "connector" => Some(PluginKind::Connector),
            "os" => Some(PluginKind::Os),
            _ => None,
        }
    }

    /// Tells the kind from an export name, ignoring the Mach-O leading underscore.
    pub fn from_export(export: &str) -> Option<Self> {
        let bare = export.strip_prefix('_').unwrap_or(export);
        if bare.starts_with("MEMFLOW_CONNECTOR_") {
            Some(PluginKind::Connector)
        } else if bare.starts_with("MEMFLOW_OS_") {
            Some(PluginKind::Os)
        } else {
            None
        }
    }
}

/// The container format of a plugin binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileType {
    /// Windows Portable Executable (PE32 or PE32+).
    Pe,
    /// Executable and Linkable Format.
    Elf,
    /// Mach-O, thin or one slice of a fat binary.
    Mach,
}

impl FileType {
    /// The name used in JSON and in query strings.
    pub fn as_str(self) -> &'static str {
        match self {
            FileType::Pe => "pe",
            FileType::Elf => "elf",
            FileType::Mach => "mach",
        }
    }

    /// Parses the query-string form (`pe`, `elf`, `mach`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pe" => Some(FileType::Pe),
            "elf" => Some(FileType::Elf),
            "mach" => Some(FileType::Mach),
            _ => None,
        }
    }
}

/// The CPU architecture a plugin was built for.
///
/// Serialised as a bare string for known values and as `{"unknown": <machine id>}` otherwise,
/// as memflow-registry does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    /// 32-bit x86 (i386).
    X86,
    /// x86-64 / AMD64.
    #[serde(rename = "x86_64")]
    X86_64,
    /// 32-bit ARM.
    Arm,
    /// AArch64.
    Arm64,
    /// Any other machine, with the format's own machine number.
    Unknown(u32),
}

impl Architecture {
    /// The storage and query-string form: `x86`, `x86_64`, `arm`, `arm64`, `unknown:<id>`.
    pub fn to_key(self) -> String {
        match self {
            Architecture::X86 => "x86".into(),
            Architecture::X86_64 => "x86_64".into(),
            Architecture::Arm => "arm".into(),
            Architecture::Arm64 => "arm64".into(),
            Architecture::Unknown(id) => format!("unknown:{id}"),
        }
    }

    /// Parses the form written by [`Architecture::to_key`].
    pub fn from_key(s: &str) -> Option<Self> {
        match s {
            "x86" => Some(Architecture::X86),
            "x86_64" => Some(Architecture::X86_64),
            "arm" => Some(Architecture::Arm),
            "arm64" => Some(Architecture::Arm64),
            _ => s
                .strip_prefix("unknown:")
                .and_then(|id| id.parse().ok())
                .map(Architecture::Unknown),
        }
    }
}

/// One plugin descriptor found in a binary: memflow-registry's `PluginDescriptorInfo`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Descriptor {
    /// Connector or OS layer.
    pub plugin_kind: PluginKind,
    /// The exported symbol, as the file spells it (Mach-O keeps its leading underscore).
    pub export_name: String,
    /// Container format.
    pub file_type: FileType,
    /// CPU architecture.
    pub architecture: Architecture,
    /// memflow plugin ABI version (signed: the 0.2 betas used negative numbers).
    pub plugin_version: i32,
    /// Plugin name.
    pub name: String,
    /// Plugin version string.
    pub version: String,
    /// Human-readable description.
    pub description: String,
}
