//! The policy file's TOML document: its root keys, signer entries, deny list and pinned log,
//! as serde reads and writes them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The TOML document.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDoc {
    /// Revision; every update must raise it.
    pub version: u64,
    /// After this instant the policy is refused (forces periodic re-signing).
    pub expires: DateTime<Utc>,
    /// The keys that sign the policy.
    pub root: Root,
    /// Keys allowed to sign packages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signers: Vec<SignerEntry>,
    /// What is refused whatever else says.
    #[serde(default)]
    pub deny: Deny,
    /// The transparency log artifacts must be in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<LogPin>,
}

/// Root keys and their threshold.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Root {
    /// Distinct root signatures a policy needs.
    pub threshold: usize,
    /// SPKI PEM public keys.
    pub keys: Vec<String>,
}

/// Keys allowed to sign packages whose names match globs.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerEntry {
    /// A name for people.
    pub name: String,
    /// Distinct keys of this entry that must have signed.
    #[serde(default = "one")]
    pub threshold: usize,
    /// Package-name globs (`memflow-*`).
    pub packages: Vec<String>,
    /// SPKI PEM public keys (Cairn keys; their signatures of every kind count).
    #[serde(default)]
    pub keys: Vec<String>,
    /// Armored OpenPGP public key blocks (`gpg --export --armor`), counted by primary-key
    /// fingerprint. An entry may hold only these, but must hold some key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub openpgp: Vec<String>,
    /// Not valid before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<DateTime<Utc>>,
    /// Not valid after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<DateTime<Utc>>,
}

fn one() -> usize {
    1
}

/// The deny list.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deny {
    /// Key ids (hex SHA-256 of SPKI DER) and OpenPGP primary-key fingerprints (hex), either
    /// case.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    /// Artifact SHA-256 digests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub digests: Vec<String>,
    /// Package versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<DeniedPackage>,
}

/// Denied versions of packages.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeniedPackage {
    /// Package-name glob.
    pub name: String,
    /// A semver requirement (`<0.2.3`, `>=1.0, <1.2`); `*` for all.
    pub versions: String,
}

/// The pinned log.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogPin {
    /// The log's verifier key (`<name>+<id>+<base64>`).
    pub key: String,
}
