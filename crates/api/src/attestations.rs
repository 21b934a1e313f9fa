//! Attestations (in-toto links, DSSE envelopes) submitted to the log: `POST /log/entries`.

use serde::{Deserialize, Serialize};

/// `POST /log/entries`: the attestation's entry, once a checkpoint covers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationAdded {
    /// `Added`, or `AlreadyExists` when the same document was logged before (at `index`).
    pub outcome: crate::UploadOutcome,
    /// Index of its `attestation` entry.
    pub index: u64,
    /// `in-toto-link` or `dsse`.
    pub format: String,
    /// SHA-256 of the document bytes, hex.
    pub digest: String,
    /// SHA-256 digests it names as subjects (products, statement subjects).
    pub subjects: Vec<String>,
    /// SHA-256 digests it names as materials.
    #[serde(default)]
    pub materials: Vec<String>,
    /// Key ids whose signatures verified.
    pub signers: Vec<String>,
    /// A signed checkpoint covering the entry.
    pub checkpoint: String,
}
