//! Trust policies a registry operator published (`POST /policies`, `GET /policies`): each
//! one is a `policy` entry in the log, so rotations and revocations are seen by everyone.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

/// Largest policy document accepted, in bytes (it is logged whole, and a log entry holds
/// at most 65,535 bytes).
pub const MAX_POLICY_BYTES: usize = 60 * 1024;

/// A published policy, as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySummary {
    /// Its version.
    pub version: u64,
    /// SHA-256 of the policy text, hex.
    pub digest: String,
    /// Key ids of the roots whose signatures verified.
    pub roots: Vec<String>,
    /// Publication time (UTC).
    pub created_at: NaiveDateTime,
    /// Index of its `policy` entry.
    pub log_index: u64,
}

/// `GET /policies`: newest version first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyList {
    /// The policies.
    pub policies: Vec<PolicySummary>,
}

/// `POST /policies`: what was published, or the earlier publication of the same text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyPublished {
    /// `added`, or `already_exists` for the same text published before.
    pub outcome: crate::UploadOutcome,
    /// The published policy.
    pub policy: PolicySummary,
}
