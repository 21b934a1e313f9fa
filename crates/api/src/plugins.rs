//! Plugins, their variants and metadata, in memflow-registry's JSON shapes.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::descriptor::Descriptor;

/// Variants returned when a query gives no `limit` (memflow-registry's default).
pub const DEFAULT_LIMIT: u32 = 5;
/// Largest `limit` honoured; larger values are clamped, as memflow-registry does.
pub const MAX_LIMIT: u32 = 50;

/// One entry of `GET /plugins`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginSummary {
    /// Plugin name.
    pub name: String,
    /// Description of the variant that sorts first (highest ABI, then newest).
    pub description: String,
}

/// `GET /plugins`: `{"plugins":[{"name","description"}]}`, sorted by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginList {
    /// Every plugin name.
    pub plugins: Vec<PluginSummary>,
}

/// One descriptor of one artifact: an entry of `GET /plugins/{name}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginVariant {
    /// SHA-256 of the artifact, lowercase hex.
    pub digest: String,
    /// Upload signature, lowercase hex DER, low-S normalised.
    pub signature: String,
    /// Upload time, UTC, without zone suffix.
    pub created_at: NaiveDateTime,
    /// The descriptor this variant stands for.
    pub descriptor: Descriptor,
    /// Hex SHA-256 of the SPKI DER of the key that verified the signature (Cairn addition).
    #[serde(default)]
    pub key_id: Option<String>,
    /// Whether the signature was verified at upload (Cairn addition).
    #[serde(default)]
    pub verified: bool,
    /// Transparency-log entry that published it (Cairn addition).
    #[serde(default)]
    pub log_index: Option<u64>,
}

/// `GET /plugins/{name}`: `{"plugins":[PluginVariant…],"skip":N}`; `skip` echoes the
/// request, as upstream.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantList {
    /// Matching variants, ABI descending, then newest first.
    pub plugins: Vec<PluginVariant>,
    /// The `skip` of the request.
    pub skip: u32,
}

/// `GET /files/{digest}/metadata`: the artifact and all its descriptors. Also the shape of
/// the `.meta` file memflow keeps beside a downloaded plugin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginMetadata {
    /// SHA-256 of the artifact, lowercase hex.
    pub digest: String,
    /// Upload signature, lowercase hex DER, low-S normalised.
    pub signature: String,
    /// Upload time, UTC, without zone suffix.
    pub created_at: NaiveDateTime,
    /// Every descriptor in file order.
    pub descriptors: Vec<Descriptor>,
    /// Size in bytes (Cairn addition).
    #[serde(default)]
    pub size: u64,
    /// Verifying key id, if any (Cairn addition).
    #[serde(default)]
    pub key_id: Option<String>,
    /// Whether the signature was verified at upload (Cairn addition).
    #[serde(default)]
    pub verified: bool,
    /// Transparency-log entry that published it (Cairn addition).
    #[serde(default)]
    pub log_index: Option<u64>,
}

/// The answer to an upload: memflow-registry's `PluginUploadResponse`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum UploadOutcome {
    /// Stored now.
    Added,
    /// The same bytes were stored before; nothing changed.
    AlreadyExists,
}

impl std::fmt::Display for UploadOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UploadOutcome::Added => "Added",
            UploadOutcome::AlreadyExists => "AlreadyExists",
        })
    }
}
