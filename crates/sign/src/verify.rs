//! Upload signatures as memflow-registry accepts them: hex DER ECDSA secp256k1 over the
//! SHA-256 of the file, exactly what `openssl dgst -sha256 -hex -sign` writes.
//!
//! Unlike memflow-registry, a high-S signature (half of what openssl makes) is normalised to
//! low-S instead of being refused, and the normalised form is what is stored: the memflow
//! client's verifier (k256) refuses high-S, so serving the raw form would break downloads.

use std::path::Path;

use k256::ecdsa::signature::hazmat::PrehashVerifier;
use k256::ecdsa::{Signature, VerifyingKey};
use k256::pkcs8::{DecodePublicKey, EncodePublicKey};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, SignatureDefect};

/// Longest signature text accepted: DER ECDSA over secp256k1 is at most 72 bytes.
const MAX_SIGNATURE_HEX: usize = 2 * 80;

/// A public key uploads may be signed with.
#[derive(Clone, Debug)]
pub struct TrustedKey {
    key: VerifyingKey,
    id: String,
}

impl TrustedKey {
    /// Hex SHA-256 of the key's SPKI DER.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// An Ed25519 public key (attestations: in-toto links, DSSE envelopes).
#[derive(Clone, Debug)]
pub struct Ed25519Key {
    key: ed25519_dalek::VerifyingKey,
    id: String,
}

impl Ed25519Key {
    /// Hex SHA-256 of the key's SPKI DER.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The raw 32-byte public key.
    pub fn raw(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// Strict Ed25519 verification of `signature` over `message`.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        ed25519_dalek::Signature::from_slice(signature)
            .is_ok_and(|s| self.key.verify_strict(message, &s).is_ok())
    }
}

/// The keys signatures must verify under: secp256k1 for uploads (empty means "store
/// unverified"), Ed25519 for attestations.
#[derive(Clone, Debug, Default)]
pub struct TrustedKeys {
    keys: Vec<TrustedKey>,
    ed25519: Vec<Ed25519Key>,
}

/// The outcome of checking a signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureCheck {
    /// Lowercase hex DER of the low-S form.
    pub normalized: String,
    /// The verifying key's id, when a key verified it.
    pub key_id: Option<String>,
}

impl TrustedKeys {
    /// Reads every `PUBLIC KEY` PEM block of every file (a file may hold several).
    pub fn load(paths: &[impl AsRef<Path>]) -> Result<Self, Error> {
        let mut keys = TrustedKeys::default();
        for path in paths {
            let path = path.as_ref();
            let text = std::fs::read_to_string(path).map_err(|e| Error::Key {
                origin: format!("public key {}", path.display()),
                reason: e.to_string(),
            })?;
            keys.add_pem(&text, &format!("public key {}", path.display()))?;
        }
        Ok(keys)
    }

    /// Adds the keys of a PEM text; `origin` names it in errors.
    pub fn add_pem(&mut self, text: &str, origin: &str) -> Result<(), Error> {
        const END: &str = "-----END PUBLIC KEY-----";
        let mut rest = text;
        let mut found = 0;
        while let Some(start) = rest.find("-----BEGIN PUBLIC KEY-----") {
            let end = rest[start..].find(END).ok_or_else(|| Error::Key {
                origin: origin.into(),
                reason: "unterminated PEM block".into(),
            })? + start
                + END.len();
            let pem = &rest[start..end];
            if let Ok(key) = VerifyingKey::from_public_key_pem(pem) {
                self.push(key);
            } else {
                use ed25519_dalek::pkcs8::{DecodePublicKey as _, EncodePublicKey as _};
                let key = ed25519_dalek::VerifyingKey::from_public_key_pem(pem).map_err(|e| {
                    Error::Key {
                        origin: origin.into(),
                        reason: format!("neither a secp256k1 nor an Ed25519 public key: {e}"),
                    }
                })?;
                let der = key
                    .to_public_key_der()
                    .map(|d| d.as_bytes().to_vec())
                    .unwrap_or_default();
                let id = hex::encode(Sha256::digest(&der));
                if !self.ed25519.iter().any(|k| k.id == id) {
                    self.ed25519.push(Ed25519Key { key, id });
                }
            }
            found += 1;
            rest = &rest[end..];
        }
        if found == 0 {
            return Err(Error::Key {
                origin: origin.into(),
                reason: "no PUBLIC KEY PEM block".into(),
            });
        }
        Ok(())
    }

    fn push(&mut self, key: VerifyingKey) {
        let der = key
            .to_public_key_der()
            .map(|d| d.as_bytes().to_vec())
            .unwrap_or_default();
        let id = hex::encode(Sha256::digest(&der));
        if !self.keys.iter().any(|k| k.id == id) {
            self.keys.push(TrustedKey { key, id });
        }
    }

    /// True when no secp256k1 key is configured (upload signatures are stored unverified).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The configured secp256k1 keys.
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// The configured Ed25519 keys.
    pub fn ed25519_keys(&self) -> &[Ed25519Key] {
        &self.ed25519
    }

    /// Checks a hex DER signature over a file whose SHA-256 is `digest`.
    ///
    /// Without keys the signature must still be well-formed; it is normalised and stored
    /// unverified, as memflow-registry does when it has no public key.
    pub fn check(&self, signature: &str, digest: &[u8; 32]) -> Result<SignatureCheck, Error> {
        let signature = parse(signature)?;
        let normalized = hex::encode(signature.to_der().as_bytes());
        if self.keys.is_empty() {
            return Ok(SignatureCheck {
                normalized,
                key_id: None,
            });
        }
        let key = self
            .keys
            .iter()
            .find(|k| k.key.verify_prehash(digest, &signature).is_ok())
            .ok_or(Error::Signature(SignatureDefect::NoTrustedKey))?;
        Ok(SignatureCheck {
            normalized,
            key_id: Some(key.id.clone()),
        })
    }
}

/// Parses hex (either case, surrounding whitespace ignored) DER into a low-S signature.
fn parse(text: &str) -> Result<Signature, Error> {
    let text = text.trim();
    if text.is_empty() || text.len() > MAX_SIGNATURE_HEX {
        return Err(Error::Signature(SignatureDefect::NotHex));
    }
    let der = hex::decode(text).map_err(|_| Error::Signature(SignatureDefect::NotHex))?;
    let signature =
        Signature::from_der(&der).map_err(|_| Error::Signature(SignatureDefect::NotDer))?;
    Ok(signature.normalize_s().unwrap_or(signature))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k256::ecdsa::SigningKey;
    use k256::ecdsa::signature::hazmat::PrehashSigner;

    fn keys_for(sk: &SigningKey) -> TrustedKeys {
        let mut keys = TrustedKeys::default();
        keys.push(*sk.verifying_key());
        keys
    }

    fn high_s(sig: Signature) -> Signature {
        let (r, s) = sig.split_scalars();
        Signature::from_scalars(r, -*s).unwrap()
    }

    #[test]
    fn high_s_is_normalised_and_verifies() {
        let sk = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let digest: [u8; 32] = Sha256::digest(b"plugin").into();
        let sig: Signature = sk.sign_prehash(&digest).unwrap();
        let low = hex::encode(sig.to_der().as_bytes());
        let high = hex::encode(high_s(sig).to_der().as_bytes());
        assert_ne!(low, high);
        let keys = keys_for(&sk);
        for text in [&low, &high, &high.to_uppercase()] {
            let check = keys.check(text, &digest).unwrap();
            assert_eq!(check.normalized, low);
            assert_eq!(check.key_id.as_deref(), Some(keys.keys()[0].id()));
        }
    }

    #[test]
    fn wrong_key_wrong_file_and_garbage_are_refused() {
        let sk = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let other = SigningKey::from_slice(&[9u8; 32]).unwrap();
        let digest: [u8; 32] = Sha256::digest(b"plugin").into();
        let sig: Signature = sk.sign_prehash(&digest).unwrap();
        let text = hex::encode(sig.to_der().as_bytes());
        let refused = |r: Result<SignatureCheck, Error>, d| {
            assert!(matches!(r, Err(Error::Signature(x)) if x == d));
        };
        refused(
            keys_for(&other).check(&text, &digest),
            SignatureDefect::NoTrustedKey,
        );
        let elsewhere: [u8; 32] = Sha256::digest(b"other").into();
        refused(
            keys_for(&sk).check(&text, &elsewhere),
            SignatureDefect::NoTrustedKey,
        );
        refused(keys_for(&sk).check("zz", &digest), SignatureDefect::NotHex);
        refused(keys_for(&sk).check("ééé", &digest), SignatureDefect::NotHex);
        refused(keys_for(&sk).check("", &digest), SignatureDefect::NotHex);
        refused(
            keys_for(&sk).check(&"ab".repeat(500), &digest),
            SignatureDefect::NotHex,
        );
        refused(
            keys_for(&sk).check("3006020101020101ff", &digest),
            SignatureDefect::NotDer,
        );
    }

    #[test]
    fn without_keys_signatures_are_stored_unverified() {
        let sk = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let digest: [u8; 32] = Sha256::digest(b"plugin").into();
        let sig: Signature = sk.sign_prehash(&digest).unwrap();
        let check = TrustedKeys::default()
            .check(&hex::encode(sig.to_der().as_bytes()), &digest)
            .unwrap();
        assert_eq!(check.key_id, None);
    }
}
