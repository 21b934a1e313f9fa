//! The trust policy a user holds: which keys may sign which packages, which keys, digests and
//! versions are denied, and which root keys may change the policy.
//!
//! Modelled on UEFI Secure Boot: root keys (PK) sign the policy; signer entries (db) allow
//! keys for package-name globs within a validity window; the deny list (dbx) is checked first
//! and always wins. The file is TOML; root signatures follow the body as comment lines
//!
//! ```text
//! # cairn-policy-signature <key id> <hex signature>
//! ```
//!
//! so the whole file stays valid TOML. A signature covers every byte before the first such
//! line. An update must carry a higher `version` and the threshold of BOTH the old and the
//! new root keys (distinct key ids), so a stolen single key cannot rewrite trust.

//!
//! The policy and its errors live here; the TOML document in `document.rs`, parsing and
//! loading in `parse.rs`, root signatures in `signatures.rs` and the decision on an
//! artifact (its bytes, or a file with detached signatures of any kind) in `evaluate.rs`.

mod document;
mod evaluate;
mod parse;
mod signatures;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use globset::GlobMatcher;

use crate::detached::DetachedKeys;
use crate::keys::PublicKey;

pub use document::{DeniedPackage, Deny, LogPin, PolicyDoc, Root, SignerEntry};
pub use evaluate::{Artifact, Decision, Denial};

/// Marker of a signature line.
const SIGNATURE_PREFIX: &str = "# cairn-policy-signature ";
/// Largest policy file accepted.
pub const MAX_POLICY_BYTES: usize = 1 << 20;

/// Why a policy, or an update, was refused.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Not a valid policy file.
    #[error("malformed trust policy: {0}")]
    Malformed(String),
    /// Past its `expires`.
    #[error("the trust policy expired at {0}")]
    Expired(DateTime<Utc>),
    /// Too few distinct root keys signed.
    #[error("the trust policy is signed by {have} distinct {which} root key(s); {need} needed")]
    Threshold {
        /// Which root set: `its own` or `the previous policy's`.
        which: &'static str,
        /// Valid distinct signatures found.
        have: usize,
        /// The threshold.
        need: usize,
    },
    /// An update that does not raise the version.
    #[error("the new trust policy has version {new}, not above the current {old}")]
    Version {
        /// Current version.
        old: u64,
        /// Offered version.
        new: u64,
    },
    /// A signature line that does not parse.
    #[error("bad signature line: {0}")]
    SignatureLine(String),
    /// The policy file could not be read.
    #[error("reading the trust policy {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A policy file that is unusable, named.
    #[error("trust policy {path}: {source}")]
    In {
        /// The file.
        path: String,
        /// What is wrong with it.
        source: Box<PolicyError>,
    },
}

fn malformed(why: impl Into<String>) -> PolicyError {
    PolicyError::Malformed(why.into())
}

/// A signer entry, compiled.
#[derive(Clone, Debug)]
struct Signer {
    name: String,
    threshold: usize,
    globs: Vec<GlobMatcher>,
    keys: DetachedKeys,
    not_before: Option<DateTime<Utc>>,
    not_after: Option<DateTime<Utc>>,
}

/// A parsed, structurally valid policy (signatures not yet checked).
#[derive(Clone, Debug)]
pub struct Policy {
    doc: PolicyDoc,
    body: String,
    signatures: Vec<(String, Vec<u8>)>,
    roots: Vec<PublicKey>,
    signers: Vec<Signer>,
    /// Every signer entry's keys together: files are checked under them in one pass.
    signer_keys: DetachedKeys,
    denied_packages: Vec<(GlobMatcher, semver::VersionReq)>,
}

fn distinct(ids: impl IntoIterator<Item = String>) -> BTreeSet<String> {
    ids.into_iter().collect()
}

impl Policy {
    /// The document.
    pub fn doc(&self) -> &PolicyDoc {
        &self.doc
    }

    /// The pinned log verifier key, if any.
    pub fn log_key(&self) -> Option<&str> {
        self.doc.log.as_ref().map(|l| l.key.as_str())
    }

    /// Every signer entry's Cairn keys (uploads signed by them can be verified).
    pub fn signer_keys(&self) -> impl Iterator<Item = &PublicKey> {
        self.signers.iter().flat_map(|s| s.keys.keys().iter())
    }

    /// Every signer key of the policy, Cairn and OpenPGP, as [`DetachedKeys`]: for callers
    /// that must know which key made a signature, not only whether the policy allows it.
    pub fn detached_keys(&self) -> DetachedKeys {
        self.signer_keys.clone()
    }

    /// How many signature lines the file carries (valid or not).
    pub fn signature_count(&self) -> usize {
        self.signatures.len()
    }

    /// The signed bytes.
    pub fn body(&self) -> &str {
        &self.body
    }
}
