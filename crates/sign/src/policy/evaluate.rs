//! The policy's decision on an artifact: the deny list first, then the signer entries'
//! globs, validity windows and thresholds.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::Policy;
use crate::keys::{PublicKey, Signed};

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

impl Policy {
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
