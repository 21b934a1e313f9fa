//! Reading a policy: splitting the body from its signature lines, parsing the TOML and
//! compiling its keys, globs and version ranges; loading a file and checking it.

use chrono::{DateTime, Utc};
use globset::{Glob, GlobMatcher};

use super::{
    MAX_POLICY_BYTES, Policy, PolicyDoc, PolicyError, SIGNATURE_PREFIX, Signer, SignerEntry,
    distinct, malformed,
};
use crate::detached::DetachedKeys;
use crate::keys::PublicKey;

fn parse_keys(pems: &[String], what: &str) -> Result<Vec<PublicKey>, PolicyError> {
    let mut keys = Vec::new();
    for pem in pems {
        keys.extend(PublicKey::all_from_pem(pem, what).map_err(|e| malformed(e.to_string()))?);
    }
    Ok(keys)
}

/// A signer entry's Cairn and OpenPGP keys.
fn signer_keys_of(entry: &SignerEntry) -> Result<DetachedKeys, PolicyError> {
    let mut keys = DetachedKeys::default();
    for key in parse_keys(&entry.keys, "signer key")? {
        keys.add_key(key);
    }
    add_openpgp(&mut keys, entry)?;
    Ok(keys)
}

#[cfg(feature = "openpgp")]
fn add_openpgp(keys: &mut DetachedKeys, entry: &SignerEntry) -> Result<(), PolicyError> {
    for block in &entry.openpgp {
        let parsed = crate::openpgp::OpenPgpKey::parse_all(block.as_bytes())
            .map_err(|e| malformed(format!("signer {:?}: OpenPGP key: {e}", entry.name)))?;
        for key in parsed {
            keys.add_openpgp(key);
        }
    }
    Ok(())
}

/// Without OpenPGP support an entry's OpenPGP keys cannot be checked, and dropping them
/// would change what the policy allows: such a policy is refused.
#[cfg(not(feature = "openpgp"))]
fn add_openpgp(_keys: &mut DetachedKeys, entry: &SignerEntry) -> Result<(), PolicyError> {
    if entry.openpgp.is_empty() {
        return Ok(());
    }
    Err(malformed(format!(
        "signer {:?} holds OpenPGP keys, but this build of Cairn has no OpenPGP support",
        entry.name
    )))
}

fn glob(pattern: &str) -> Result<GlobMatcher, PolicyError> {
    Glob::new(pattern)
        .map(|g| g.compile_matcher())
        .map_err(|e| malformed(format!("bad package glob {pattern:?}: {e}")))
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
        let mut signer_keys = DetachedKeys::default();
        for s in &doc.signers {
            let keys = signer_keys_of(s)?;
            let count = keys.ids().len();
            if count == 0 {
                return Err(malformed(format!("signer {:?} holds no key", s.name)));
            }
            if s.threshold == 0 || s.threshold > count {
                return Err(malformed(format!(
                    "signer {:?}: threshold {} with {count} distinct keys",
                    s.name, s.threshold,
                )));
            }
            signer_keys.extend(&keys);
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
            signer_keys,
            denied_packages,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Root;

    fn doc(openpgp: Vec<String>) -> PolicyDoc {
        let root = crate::PrivateKey::generate(crate::Algorithm::Ed25519).unwrap();
        PolicyDoc {
            root: Root {
                threshold: 1,
                keys: vec![root.public().to_pem()],
            },
            signers: vec![SignerEntry {
                name: "gpg".into(),
                threshold: 1,
                packages: vec!["*".into()],
                openpgp,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn an_entry_without_any_key_is_malformed() {
        let err = Policy::from_doc(doc(vec![])).unwrap_err();
        assert!(err.to_string().contains("holds no key"), "{err}");
    }

    /// The boot agent's build: OpenPGP keys it cannot check make the policy unusable.
    #[cfg(not(feature = "openpgp"))]
    #[test]
    fn without_openpgp_support_openpgp_keys_are_refused() {
        let block = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n-----END PGP PUBLIC KEY BLOCK-----\n";
        let err = Policy::from_doc(doc(vec![block.into()])).unwrap_err();
        assert!(matches!(err, PolicyError::Malformed(_)));
        assert!(err.to_string().contains("no OpenPGP support"), "{err}");
    }
}
