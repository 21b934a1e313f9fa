//! The policy's decision on an artifact, its bytes in hand or a file with detached
//! signatures of any kind: the deny list first, then the signer entries' globs, validity
//! windows and thresholds.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::Policy;
use crate::detached::{Kind, Parsed};
use crate::error::Error;
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
        let verified = || Ok::<_, Infallible>(self.verified_bytes(artifact, signatures));
        match self.decide(artifact, now, verified) {
            Ok(decision) => decision,
            Err(never) => match never {},
        }
    }

    /// Decides on the file at `path` (SHA-256 `artifact.digest`) carrying detached
    /// `signatures` of any kind: every signature is verified, streaming, under every signer
    /// key of the policy, Cairn and OpenPGP (as
    /// [`DetachedKeys::verify_file`](crate::detached::DetachedKeys::verify_file)); then the
    /// same decision as [`Policy::evaluate`]. The deny list's digests and versions are
    /// consulted before the file is read.
    ///
    /// A malformed signature counts as one no key made, as in `evaluate`: what the policy
    /// needs is enough good signatures, not the absence of bad ones. Errors are only the
    /// file's: unreadable, or changed while it was checked.
    pub fn evaluate_file(
        &self,
        artifact: &Artifact<'_>,
        signatures: &[(Kind, Vec<u8>)],
        path: &Path,
        now: DateTime<Utc>,
    ) -> Result<Decision, Error> {
        self.decide(artifact, now, || {
            let mut verified = BTreeSet::new();
            for (kind, signature) in signatures {
                let Ok(parsed) = Parsed::new(*kind, signature) else {
                    continue;
                };
                verified.extend(
                    self.signer_keys
                        .verifying_ids(&parsed, path, artifact.digest)?,
                );
            }
            Ok(verified)
        })
    }

    /// Every policy key id that made one of the signatures over the artifact's bytes.
    fn verified_bytes(&self, artifact: &Artifact<'_>, signatures: &[Vec<u8>]) -> BTreeSet<String> {
        let signed = match artifact.bytes {
            Some(bytes) => Signed::hashed(*artifact.digest, bytes),
            None => Signed::digest(*artifact.digest),
        };
        self.signer_keys
            .keys()
            .iter()
            .filter(|k| signatures.iter().any(|sig| k.verify(&signed, sig)))
            .map(PublicKey::id)
            .collect()
    }

    /// The one decision: the deny list's digests and versions, then (only then asking for
    /// them) the key ids that verified: denied keys, and each signer entry's globs, window
    /// and threshold.
    fn decide<E>(
        &self,
        artifact: &Artifact<'_>,
        now: DateTime<Utc>,
        verified: impl FnOnce() -> Result<BTreeSet<String>, E>,
    ) -> Result<Decision, E> {
        let digest_hex = hex::encode(artifact.digest);
        if self
            .doc
            .deny
            .digests
            .iter()
            .any(|d| d.eq_ignore_ascii_case(&digest_hex))
        {
            return Ok(Decision::Denied(Denial::Digest(digest_hex)));
        }
        if let Some(denial) = self.denied_version(artifact) {
            return Ok(Decision::Denied(denial));
        }
        let signed = verified()?;
        if let Some(id) = signed.iter().find(|id| {
            self.doc
                .deny
                .keys
                .iter()
                .any(|d| d.eq_ignore_ascii_case(id))
        }) {
            return Ok(Decision::Denied(Denial::Key(id.clone())));
        }
        Ok(self.by_signers(artifact, &signed, now))
    }

    /// The first signer entry that allows the artifact, or the most telling refusal.
    fn by_signers(
        &self,
        artifact: &Artifact<'_>,
        signed: &BTreeSet<String>,
        now: DateTime<Utc>,
    ) -> Decision {
        let mut refusal = None;
        for s in &self.signers {
            let mine: Vec<String> = s
                .keys
                .ids()
                .into_iter()
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
