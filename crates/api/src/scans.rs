//! Signed filesystem scans: what the registry lists about each.

use serde::{Deserialize, Serialize};

use crate::plugins::UploadOutcome;

/// What the registry knows of a stored scan (also what its `scan` log entry records).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanSummary {
    /// SHA-256 of the scan file.
    pub digest: String,
    /// Host that was scanned.
    pub host: String,
    /// Roots that were scanned.
    pub roots: Vec<String>,
    /// Entries recorded.
    pub entries: u64,
    /// Entries recorded with an error.
    pub errors: u64,
    /// Scan start, RFC 3339.
    pub started: String,
    /// Scan end, RFC 3339.
    pub finished: String,
    /// File size in bytes.
    pub size: u64,
    /// Signature (lowercase hex DER, low-S).
    pub signature: String,
    /// Verifying key id, when a key verified it.
    pub key_id: Option<String>,
    /// Upload time.
    pub created_at: chrono::NaiveDateTime,
    /// Transparency-log entry that published it.
    #[serde(default)]
    pub log_index: Option<u64>,
}

/// `GET /scans`: `{"scans":[…]}`, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanList {
    /// The scans.
    pub scans: Vec<ScanSummary>,
}

/// The answer to a scan upload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanAdded {
    /// Stored now, or stored before.
    pub outcome: UploadOutcome,
    /// The stored scan.
    #[serde(flatten)]
    pub scan: ScanSummary,
}
