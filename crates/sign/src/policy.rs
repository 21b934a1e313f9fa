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

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use globset::{Glob, GlobMatcher};
use serde::{Deserialize, Serialize};

use crate::keys::{PrivateKey, PublicKey, Signed};

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
    /// SPKI PEM public keys.
    pub keys: Vec<String>,
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
    /// Key ids (hex SHA-256 of SPKI DER).
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

/// A signer entry, compiled.
#[derive(Clone, Debug)]
struct Signer {
    name: String,
    threshold: usize,
    globs: Vec<GlobMatcher>,
    keys: Vec<PublicKey>,
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
    denied_packages: Vec<(GlobMatcher, semver::VersionReq)>,
}

/// An artifact to decide on.
#[derive(Clone, Copy, Debug)]
pub struct Artifact<'a> {
    /// Package name.
    pub name: &'a str,
    /// Package version, if it has one.
    pub version: Option<&'a str>,
    /// SHA-256 of the bytes.
    pub digest: &'a [u8; 32],
    /// The bytes themselves, for Ed25519 signatures (which sign whole messages).
    pub bytes: Option<&'a [u8]>,
}

/// The policy's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Allowed by a signer entry.
    Allowed {
        /// The entry's name.
        signer: String,
        /// Key ids whose signatures counted.
        keys: Vec<String>,
    },
    /// Refused, and why.
    Denied(Denial),
}

/// Why an artifact is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    /// The digest is on the deny list.
    #[error("digest {0} is on the policy's deny list")]
    Digest(String),
    /// The package version is on the deny list.
    #[error("{name} {version} is denied by the policy ({rule})")]
    Version {
        /// Package.
        name: String,
        /// Version.
        version: String,
        /// The matching rule.
        rule: String,
    },
    /// The signing key is on the deny list.
    #[error("signing key {0} is on the policy's deny list")]
    Key(String),
    /// The key is trusted, but not for this package.
    #[error("key {key} ({signer}) may not sign package {package}: outside its package globs")]
    OutsideGlobs {
        /// Key id.
        key: String,
        /// Signer entry.
        signer: String,
        /// Package.
        package: String,
    },
    /// The key is trusted, but not at this time.
    #[error("key {key} ({signer}) is outside its validity window")]
    OutsideWindow {
        /// Key id.
        key: String,
        /// Signer entry.
        signer: String,
    },
    /// Fewer signatures than the entry's threshold.
    #[error("{have} of {need} signatures required by {signer}")]
    BelowThreshold {
        /// Signer entry.
        signer: String,
        /// Valid distinct signatures.
        have: usize,
        /// Threshold.
        need: usize,
    },
    /// No key of the policy made any of the signatures.
    #[error("no key of the trust policy signed it")]
    NoTrustedSignature,
}

fn parse_keys(pems: &[String], what: &str) -> Result<Vec<PublicKey>, PolicyError> {
    let mut keys = Vec::new();
    for pem in pems {
        keys.extend(PublicKey::all_from_pem(pem, what).map_err(|e| malformed(e.to_string()))?);
    }
    Ok(keys)
}

fn glob(pattern: &str) -> Result<GlobMatcher, PolicyError> {
    Glob::new(pattern)
        .map(|g| g.compile_matcher())
        .map_err(|e| malformed(format!("bad package glob {pattern:?}: {e}")))
}

fn distinct(ids: impl IntoIterator<Item = String>) -> BTreeSet<String> {
    ids.into_iter().collect()
}

impl Policy {
    /// Parses a policy file (body and signature lines) and checks its structure.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        if text.len() > MAX_POLICY_BYTES {
            return Err(malformed("larger than 1 MiB"));
        }
        let (body, sig_text) = match text.find(&format!("\n{SIGNATURE_PREFIX}")) {
            Some(at) => (&text[..=at], &text[at + 1..]),
            None if text.starts_with(SIGNATURE_PREFIX) => ("", text),
            None => (text, ""),
        };
        let mut signatures = Vec::new();
        for line in sig_text.lines().filter(|l| !l.trim().is_empty()) {
            let rest = line
                .strip_prefix(SIGNATURE_PREFIX)
                .ok_or_else(|| PolicyError::SignatureLine("text after the signatures".into()))?;
            let (id, sig) = rest
                .split_once(' ')
                .ok_or_else(|| PolicyError::SignatureLine(line.into()))?;
            let sig = hex::decode(sig.trim())
                .map_err(|_| PolicyError::SignatureLine(format!("not hex: {line}")))?;
            signatures.push((id.to_owned(), sig));
        }
        let doc: PolicyDoc = toml::from_str(body).map_err(|e| malformed(e.to_string()))?;
        Self::compile(doc, body.to_owned(), signatures)
    }

    /// Reads and parses a policy file, without checking its signatures (for editing it).
    pub fn read(path: &std::path::Path) -> Result<Self, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text).map_err(|e| PolicyError::In {
            path: path.display().to_string(),
            source: Box::new(e),
        })
    }

    /// Reads a policy file and checks it as of `now`: structure, expiry and the threshold of
    /// its own root keys. What every user of a policy calls before trusting it.
    pub fn load(path: &std::path::Path, now: DateTime<Utc>) -> Result<Self, PolicyError> {
        let policy = Self::read(path)?;
        policy.verify(now).map_err(|e| PolicyError::In {
            path: path.display().to_string(),
            source: Box::new(e),
        })?;
        Ok(policy)
    }

    /// A new, unsigned policy for `doc`.
    pub fn from_doc(doc: PolicyDoc) -> Result<Self, PolicyError> {
        let body = toml::to_string_pretty(&doc).map_err(|e| malformed(e.to_string()))?;
        Self::compile(doc, body, Vec::new())
    }

    fn compile(
        doc: PolicyDoc,
        body: String,
        signatures: Vec<(String, Vec<u8>)>,
    ) -> Result<Self, PolicyError> {
        let roots = parse_keys(&doc.root.keys, "root key")?;
        if doc.root.threshold == 0
            || doc.root.threshold > distinct(roots.iter().map(PublicKey::id)).len()
        {
            return Err(malformed(format!(
                "root threshold {} with {} distinct root keys",
                doc.root.threshold,
                roots.len()
            )));
        }
        let mut signers = Vec::new();
        for s in &doc.signers {
            let keys = parse_keys(&s.keys, "signer key")?;
            if s.threshold == 0 || s.threshold > keys.len() {
                return Err(malformed(format!(
                    "signer {:?}: threshold {} with {} keys",
                    s.name,
                    s.threshold,
                    keys.len()
                )));
            }
            signers.push(Signer {
                name: s.name.clone(),
                threshold: s.threshold,
                globs: s
                    .packages
                    .iter()
                    .map(|p| glob(p))
                    .collect::<Result<_, _>>()?,
                keys,
                not_before: s.not_before,
                not_after: s.not_after,
            });
        }
        let mut denied_packages = Vec::new();
        for d in &doc.deny.packages {
            let req = semver::VersionReq::parse(&d.versions)
                .map_err(|e| malformed(format!("bad version range {:?}: {e}", d.versions)))?;
            denied_packages.push((glob(&d.name)?, req));
        }
        if let Some(log) = &doc.log {
            if log.key.split('+').count() < 3 {
                return Err(malformed("[log] key is not a verifier key (name+id+key)"));
            }
        }
        Ok(Policy {
            doc,
            body,
            signatures,
            roots,
            signers,
            denied_packages,
        })
    }

    /// The document.
    pub fn doc(&self) -> &PolicyDoc {
        &self.doc
    }

    /// The pinned log verifier key, if any.
    pub fn log_key(&self) -> Option<&str> {
        self.doc.log.as_ref().map(|l| l.key.as_str())
    }

    /// Every signer entry's keys (uploads signed by them can be verified).
    pub fn signer_keys(&self) -> impl Iterator<Item = &PublicKey> {
        self.signers.iter().flat_map(|s| s.keys.iter())
    }

    /// How many signature lines the file carries (valid or not).
    pub fn signature_count(&self) -> usize {
        self.signatures.len()
    }

    /// The signed bytes.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// Body and signature lines: the file to write.
    pub fn to_text(&self) -> String {
        let mut out = self.body.clone();
        if !out.ends_with('\n') {
            out.push('\n');
        }
        for (id, sig) in &self.signatures {
            out.push_str(&format!("{SIGNATURE_PREFIX}{id} {}\n", hex::encode(sig)));
        }
        out
    }

    /// Adds a root signature by `key` (which must be one of `roots`, old or new: the caller
    /// decides which policy it counts for).
    pub fn sign(&mut self, key: &PrivateKey) -> Result<(), crate::Error> {
        let sig = key.sign(&Signed::bytes(self.body.as_bytes()))?;
        let id = key.public().id();
        self.signatures.retain(|(i, _)| *i != id);
        self.signatures.push((id, sig));
        Ok(())
    }

    /// Distinct key ids among `keys` with a valid signature over this body.
    fn signed_by(&self, keys: &[PublicKey]) -> BTreeSet<String> {
        distinct(keys.iter().filter_map(|k| {
            let id = k.id();
            self.signatures
                .iter()
                .any(|(sid, sig)| *sid == id && k.verify(&Signed::bytes(self.body.as_bytes()), sig))
                .then_some(id)
        }))
    }

    /// Checks expiry and the threshold of the policy's own root keys.
    pub fn verify(&self, now: DateTime<Utc>) -> Result<(), PolicyError> {
        if now > self.doc.expires {
            return Err(PolicyError::Expired(self.doc.expires));
        }
        let have = self.signed_by(&self.roots).len();
        if have < self.doc.root.threshold {
            return Err(PolicyError::Threshold {
                which: "its own",
                have,
                need: self.doc.root.threshold,
            });
        }
        Ok(())
    }

    /// Checks that `new` may replace this policy: valid by itself, a higher version, and
    /// signed by the threshold of this policy's root keys too.
    pub fn check_update(&self, new: &Policy, now: DateTime<Utc>) -> Result<(), PolicyError> {
        if new.doc.version <= self.doc.version {
            return Err(PolicyError::Version {
                old: self.doc.version,
                new: new.doc.version,
            });
        }
        new.verify(now)?;
        let have = new.signed_by(&self.roots).len();
        if have < self.doc.root.threshold {
            return Err(PolicyError::Threshold {
                which: "the previous policy's",
                have,
                need: self.doc.root.threshold,
            });
        }
        Ok(())
    }

    /// Decides on an artifact carrying `signatures` (DER ECDSA over the digest, or Ed25519
    /// over the bytes). The deny list is consulted first and always wins.
    pub fn evaluate(
        &self,
        artifact: &Artifact<'_>,
        signatures: &[Vec<u8>],
        now: DateTime<Utc>,
    ) -> Decision {
        let digest_hex = hex::encode(artifact.digest);
        if self
            .doc
            .deny
            .digests
            .iter()
            .any(|d| d.eq_ignore_ascii_case(&digest_hex))
        {
            return Decision::Denied(Denial::Digest(digest_hex));
        }
        if let Some(denial) = self.denied_version(artifact) {
            return Decision::Denied(denial);
        }
        let signed = match artifact.bytes {
            Some(bytes) => Signed::hashed(*artifact.digest, bytes),
            None => Signed::digest(*artifact.digest),
        };
        let verifies = |key: &PublicKey| signatures.iter().any(|sig| key.verify(&signed, sig));
        // Every policy key that made one of the signatures.
        let signed: BTreeSet<String> = self
            .signers
            .iter()
            .flat_map(|s| s.keys.iter())
            .filter(|k| verifies(k))
            .map(PublicKey::id)
            .collect();
        if let Some(id) = signed.iter().find(|id| {
            self.doc
                .deny
                .keys
                .iter()
                .any(|d| d.eq_ignore_ascii_case(id))
        }) {
            return Decision::Denied(Denial::Key(id.clone()));
        }
        let mut refusal = None;
        for s in &self.signers {
            let mine: Vec<String> = s
                .keys
                .iter()
                .map(PublicKey::id)
                .filter(|id| signed.contains(id))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let Some(first) = mine.first() else {
                continue;
            };
            if !s.globs.iter().any(|g| g.is_match(artifact.name)) {
                refusal.get_or_insert(Denial::OutsideGlobs {
                    key: first.clone(),
                    signer: s.name.clone(),
                    package: artifact.name.to_owned(),
                });
                continue;
            }
            let early = s.not_before.is_some_and(|t| now < t);
            let late = s.not_after.is_some_and(|t| now > t);
            if early || late {
                refusal = Some(Denial::OutsideWindow {
                    key: first.clone(),
                    signer: s.name.clone(),
                });
                continue;
            }
            if mine.len() < s.threshold {
                refusal = Some(Denial::BelowThreshold {
                    signer: s.name.clone(),
                    have: mine.len(),
                    need: s.threshold,
                });
                continue;
            }
            return Decision::Allowed {
                signer: s.name.clone(),
                keys: mine,
            };
        }
        Decision::Denied(refusal.unwrap_or(Denial::NoTrustedSignature))
    }

    fn denied_version(&self, artifact: &Artifact<'_>) -> Option<Denial> {
        for ((glob, req), rule) in self.denied_packages.iter().zip(&self.doc.deny.packages) {
            if !glob.is_match(artifact.name) {
                continue;
            }
            let denied = match artifact.version.map(semver::Version::parse) {
                Some(Ok(v)) => req.matches(&v),
                // An unversioned or unparsable version: only a blanket rule denies it.
                _ => *req == semver::VersionReq::STAR,
            };
            if denied {
                return Some(Denial::Version {
                    name: artifact.name.to_owned(),
                    version: artifact.version.unwrap_or("(none)").to_owned(),
                    rule: format!("{} {}", rule.name, rule.versions),
                });
            }
        }
        None
    }
}
