//! What the registry stores and is asked; what it answers is in `cairn-api`.

pub use cairn_api::{
    DEFAULT_LIMIT, MAX_LIMIT, PluginMetadata, PluginSummary, PluginVariant, UploadOutcome,
};
use cairn_plugin::{Architecture, Descriptor, FileType};
use chrono::NaiveDateTime;

use crate::digest::{Digest, DigestPrefix};

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
