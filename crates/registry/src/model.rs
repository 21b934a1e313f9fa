//! What the registry stores and answers, in memflow-registry's JSON shapes.

use cairn_plugin::{Architecture, Descriptor, FileType};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::digest::{Digest, DigestPrefix};

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
    pub key_id: Option<String>,
    /// Whether the signature was verified at upload (Cairn addition).
    pub verified: bool,
    /// Transparency-log entry that published it (Cairn addition).
    pub log_index: Option<u64>,
}

/// `GET /files/{digest}/metadata`: the artifact and all its descriptors.
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
    pub size: u64,
    /// Verifying key id, if any (Cairn addition).
    pub key_id: Option<String>,
    /// Whether the signature was verified at upload (Cairn addition).
    pub verified: bool,
    /// Transparency-log entry that published it (Cairn addition).
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

/// An artifact ready to be indexed.
#[derive(Clone, Debug)]
pub struct NewArtifact {
    /// Content digest.
    pub digest: Digest,
    /// Size in bytes.
    pub size: u64,
    /// Normalised signature, lowercase hex DER.
    pub signature: String,
    /// Verifying key id, if verified.
    pub key_id: Option<String>,
    /// Upload time, ns since the Unix epoch.
    pub created_ns: i64,
    /// Descriptors in file order (never empty).
    pub descriptors: Vec<Descriptor>,
    /// Transparency-log entry that published it.
    pub log_index: Option<u64>,
}

/// Filters of `GET /plugins/{name}`, validated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FindQuery {
    /// Version string, or a digest prefix.
    pub version: Option<String>,
    /// ABI version.
    pub memflow_plugin_version: Option<i32>,
    /// Container format.
    pub file_type: Option<FileType>,
    /// CPU architecture.
    pub architecture: Option<Architecture>,
    /// Exact digest.
    pub digest: Option<Digest>,
    /// Digest prefix.
    pub digest_short: Option<DigestPrefix>,
    /// Matching variants to pass over before the first returned.
    pub skip: u32,
    /// Most variants returned (already clamped to [`MAX_LIMIT`]).
    pub limit: u32,
}

/// Converts ns since the epoch to the naive UTC time memflow clients expect.
pub(crate) fn time_of(ns: i64) -> NaiveDateTime {
    chrono::DateTime::from_timestamp_nanos(ns).naive_utc()
}
