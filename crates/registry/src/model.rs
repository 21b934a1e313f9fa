//! What the registry stores and is asked; what it answers is in `cairn-api`.

pub use cairn_api::{
    DEFAULT_LIMIT, MAX_LIMIT, PluginMetadata, PluginSummary, PluginVariant, UploadOutcome,
};
use cairn_plugin::{Architecture, Descriptor, FileType};
use chrono::NaiveDateTime;

use crate::digest::{Digest, DigestPrefix};
use crate::error::Error;

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
    /// Only variants whose upload signature verified under this key id (lowercase hex).
    pub key_id: Option<String>,
    /// Matching variants to pass over before the first returned.
    pub skip: u32,
    /// Most variants returned (already clamped to [`MAX_LIMIT`]).
    pub limit: u32,
}

/// Converts ns since the epoch to the naive UTC time memflow clients expect.
pub(crate) fn time_of(ns: i64) -> NaiveDateTime {
    chrono::DateTime::from_timestamp_nanos(ns).naive_utc()
}

/// Longest plugin name the index accepts, in bytes.
pub const MAX_NAME_BYTES: usize = 256;
/// Longest plugin version the index accepts, in bytes.
pub const MAX_VERSION_BYTES: usize = 128;

/// Every descriptor must be fetchable by name: not empty, and name and version of sane
/// length (listing keys and cache keys are built from them).
pub(crate) fn check_servable(descriptors: &[Descriptor]) -> Result<(), Error> {
    for d in descriptors {
        let why = if d.name.trim().is_empty() {
            "the plugin name is empty: it could not be fetched by name".to_owned()
        } else if d.name.len() > MAX_NAME_BYTES {
            format!(
                "the plugin name is {} bytes (at most {MAX_NAME_BYTES})",
                d.name.len()
            )
        } else if d.version.len() > MAX_VERSION_BYTES {
            format!(
                "the plugin version is {} bytes (at most {MAX_VERSION_BYTES})",
                d.version.len()
            )
        } else {
            continue;
        };
        return Err(Error::BadDescriptor {
            export: d.export_name.clone(),
            why,
        });
    }
    Ok(())
}
