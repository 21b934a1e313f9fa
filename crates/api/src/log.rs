//! The transparency log: what its entries record and how proofs are answered.

use serde::{Deserialize, Serialize};

use crate::descriptor::Descriptor;
use crate::packages::PackageSignature;
use crate::report::ScanReport;
use crate::scans::ScanSummary;

/// One log entry the registry writes, as canonical JSON (RFC 8785), tagged by `kind`.
///
/// An `artifact` entry carries everything the index needs (digest, size, signature, key id,
/// upload time, every descriptor), so the index can be rebuilt from the log alone and a
/// client can check what it downloaded against what was published.
// A scan entry with its report is larger than the others; entries are handled one at a time
// (never held by the thousand), so boxing it would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LogEntry {
    /// An artifact was published.
    Artifact {
        /// SHA-256, hex.
        digest: String,
        /// Size in bytes.
        size: u64,
        /// Normalised upload signature.
        signature: String,
        /// Verifying key id, if verified.
        key_id: Option<String>,
        /// Upload time, ns since the epoch.
        created_ns: i64,
        /// Every descriptor, in file order.
        descriptors: Vec<Descriptor>,
    },
    /// A signed filesystem scan was stored.
    Scan {
        /// What the registry lists about it (host, roots, counts, signature, signer).
        scan: ScanSummary,
        /// Upload time, ns since the epoch.
        created_ns: i64,
        /// The registry's analysis of it (absent in entries of scans from before hosts and
        /// baselines, so those entries keep their bytes).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        report: Option<ScanReport>,
    },
    /// A host was enrolled: its scans must carry its name and verify under its key.
    Host {
        /// The host's name.
        name: String,
        /// Its public key, PEM.
        key: String,
        /// That key's id.
        key_id: String,
        /// SHA-256 of its bearer token, hex (the token is 32 random bytes: the hash reveals
        /// nothing, and logging it lets a reindex restore the host's access).
        token_sha256: String,
        /// Enrolment time, ns since the epoch.
        created_ns: i64,
    },
    /// A host's baseline was set: its arriving scans are compared with this scan.
    Baseline {
        /// The host.
        host: String,
        /// SHA-256 of the scan, hex.
        scan: String,
        /// When it was set, ns since the epoch.
        created_ns: i64,
    },
    /// An artifact was deleted.
    Delete {
        /// SHA-256, hex.
        digest: String,
        /// Deletion time, ns since the epoch.
        deleted_ns: i64,
    },
    /// A signed attestation (in-toto link, DSSE envelope) was stored.
    Attestation {
        /// `in-toto-link` or `dsse`.
        format: String,
        /// SHA-256 of the document bytes, hex.
        digest: String,
        /// SHA-256 digests the document speaks about.
        subjects: Vec<String>,
        /// SHA-256 digests of what a link's step consumed (absent when none, so entries
        /// from before materials were recorded keep their bytes).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        materials: Vec<String>,
        /// Key ids whose signatures verified.
        signers: Vec<String>,
    },
    /// A registry operator published a trust policy: rotations and revocations are visible
    /// to everyone who reads the log.
    Policy {
        /// The policy's version (each published version is greater than the last).
        version: u64,
        /// SHA-256 of the policy text, hex.
        digest: String,
        /// The policy document itself (TOML), so the log alone tells what was published.
        text: String,
        /// Key ids of the roots that signed this version.
        roots: Vec<String>,
        /// Publication time, ns since the epoch.
        created_ns: i64,
    },
    /// A package was published: its name and version are bound to these bytes and these
    /// signatures, so a registry cannot serve a signed old package as a newer version.
    Package {
        /// Package name.
        name: String,
        /// Its version (semver).
        version: String,
        /// The file name it is served under.
        file: String,
        /// Its media type.
        media_type: String,
        /// SHA-256 of the bytes, hex.
        digest: String,
        /// Size in bytes.
        size: u64,
        /// Every detached signature, as uploaded, with the key that verified it.
        signatures: Vec<PackageSignature>,
        /// Upload time, ns since the epoch.
        created_ns: i64,
    },
    /// A package version was deleted: its name and version may be published again.
    PackageDelete {
        /// Package name.
        name: String,
        /// Its version.
        version: String,
        /// SHA-256 of the bytes it had, hex.
        digest: String,
        /// Deletion time, ns since the epoch.
        deleted_ns: i64,
    },
    /// A signed EFI image was stored: every signature verified over its Authenticode
    /// digest, and each signer is named.
    EfiImage {
        /// SHA-256 of the file, hex.
        digest: String,
        /// Size in bytes.
        size: u64,
        /// The Authenticode digest, hex.
        authenticode: String,
        /// SHA-256 of each signer certificate (DER), hex, in signature order.
        signers: Vec<String>,
        /// Upload time, ns since the epoch.
        created_ns: i64,
    },
    /// A signed variable update (`.auth`) was stored: its signature verified for this
    /// variable and kind of write.
    EfiVars {
        /// SHA-256 of the file, hex.
        digest: String,
        /// Size in bytes.
        size: u64,
        /// `PK`, `KEK`, `db` or `dbx`.
        variable: String,
        /// An appending write (else a replacing one).
        append: bool,
        /// The update's timestamp, `YYYY-MM-DD HH:MM:SS` (UTC).
        time: String,
        /// SHA-256 of the new contents (the signature list), hex.
        list_digest: String,
        /// SHA-256 of the signer certificate (DER), hex.
        signer: String,
        /// Upload time, ns since the epoch.
        created_ns: i64,
    },
}

/// `GET /log/entries/{index}`: one entry with its leaf hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryAnswer {
    /// Index in the log.
    pub index: u64,
    /// The entry, parsed (entries are JSON; base64 of the bytes when they are not).
    pub entry: serde_json::Value,
    /// RFC 6962 leaf hash, base64.
    pub leaf_hash: String,
}

/// `GET /log/proof/inclusion` and `/log/proof/consistency`: base64 hashes, leaf side first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofAnswer {
    /// The proof's hashes.
    pub proof: Vec<String>,
}

/// `GET /files/{digest}/proof`, `/scans/{digest}/proof`, `/efi/{digest}/proof` and
/// `/packages/{name}/{version}/proof`: everything needed to check a
/// publication offline. The entry is committed to by its canonical JSON bytes, so a client
/// hashes `entry` canonically and proves that leaf against the checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryProof {
    /// Index in the log.
    pub index: u64,
    /// The entry, parsed.
    pub entry: serde_json::Value,
    /// Inclusion proof for the checkpoint's size, base64 hashes.
    pub proof: Vec<String>,
    /// The signed checkpoint (C2SP signed note) the proof is for.
    pub checkpoint: String,
    /// Where the log that signed the checkpoint is routed on this server (`/local/log`),
    /// when it is not `/log`: a mirror that also publishes serves the upstream's log at
    /// `/log` and its own beside it. Only tells a client where to ask for consistency
    /// proofs; what it gets there is verified like any answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
}
