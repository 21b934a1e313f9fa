//! Upload signatures as memflow-registry accepts them: hex DER ECDSA over the SHA-256 of the
//! file, exactly what `openssl dgst -sha256 -hex -sign` writes (secp256k1, memflow's curve,
//! or P-256).
//!
//! Unlike memflow-registry, a high-S signature (half of what openssl makes) is normalised to
//! low-S instead of being refused, and the normalised form is what is stored: the memflow
//! client's verifier (k256) refuses high-S, so serving the raw form would break downloads.

use std::path::Path;

use crate::error::{Error, SignatureDefect};
use crate::keys::{Algorithm, PublicKey, Signed};

/// Longest signature text accepted: DER ECDSA over a 256-bit curve is at most 72 bytes.
const MAX_SIGNATURE_HEX: usize = 2 * 80;

/// The public keys signatures must verify under: ECDSA keys for uploads and scans (none
/// means "store unverified", as memflow-registry does); attestations are checked with
/// these and the other key types in-toto uses (`attestation::AttestationKeys`).
#[derive(Clone, Debug, Default)]
pub struct TrustedKeys {
    keys: Vec<PublicKey>,
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
            let origin = format!("public key {}", path.display());
            let text = std::fs::read_to_string(path).map_err(|e| Error::Key {
                origin: origin.clone(),
                reason: e.to_string(),
            })?;
            keys.add_pem(&text, &origin)?;
        }
        Ok(keys)
    }

    /// Adds the keys of a PEM text; `origin` names it in errors.
    pub fn add_pem(&mut self, text: &str, origin: &str) -> Result<(), Error> {
        for key in PublicKey::all_from_pem(text, origin)? {
            self.add(key);
        }
        Ok(())
    }

    /// Adds a key (once: keys are told apart by id).
    pub fn add(&mut self, key: PublicKey) {
        if !self.keys.contains(&key) {
            self.keys.push(key);
        }
    }

    /// Every key.
    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// The keys that verify digests (ECDSA): uploads and scans.
    pub fn ecdsa_keys(&self) -> impl Iterator<Item = &PublicKey> {
        self.keys
            .iter()
            .filter(|k| k.algorithm() != Algorithm::Ed25519)
    }

    /// The Ed25519 keys (they sign scans and attestations, never uploads).
    pub fn ed25519_keys(&self) -> impl Iterator<Item = &PublicKey> {
        self.keys
            .iter()
            .filter(|k| k.algorithm() == Algorithm::Ed25519)
    }

    /// True when no ECDSA key is configured (upload signatures are stored unverified).
    pub fn is_empty(&self) -> bool {
        self.ecdsa_keys().next().is_none()
    }

    /// Checks a hex DER signature over a file whose SHA-256 is `digest`.
    ///
    /// Without ECDSA keys the signature must still be well-formed; it is normalised (on
    /// secp256k1, memflow's curve) and stored unverified, as memflow-registry does when it
    /// has no public key.
    pub fn check(&self, signature: &str, digest: &[u8; 32]) -> Result<SignatureCheck, Error> {
        let der = parse(signature)?;
        let signed = Signed::digest(*digest);
        let mut ecdsa = self.ecdsa_keys().peekable();
        if ecdsa.peek().is_none() {
            let normalized = hex::encode(normalize_secp256k1(&der)?);
            return Ok(SignatureCheck {
                normalized,
                key_id: None,
            });
        }
        let key = ecdsa
            .find(|k| k.verify(&signed, &der))
            .ok_or(Error::Signature(SignatureDefect::NoTrustedKey))?;
        Ok(SignatureCheck {
            normalized: hex::encode(key.normalize(&der).unwrap_or(der)),
            key_id: Some(key.id()),
        })
    }
}

/// Parses hex (either case, surrounding whitespace ignored) of a DER ECDSA signature.
pub(crate) fn parse(text: &str) -> Result<Vec<u8>, Error> {
    let text = text.trim();
    if text.is_empty() || text.len() > MAX_SIGNATURE_HEX {
        return Err(Error::Signature(SignatureDefect::NotHex));
    }
    let der = hex::decode(text).map_err(|_| Error::Signature(SignatureDefect::NotHex))?;
    // Well-formed DER on either curve parses on secp256k1, whose order is the larger.
    normalize_secp256k1(&der)?;
    Ok(der)
}

fn normalize_secp256k1(der: &[u8]) -> Result<Vec<u8>, Error> {
    let s = k256::ecdsa::Signature::from_der(der)
        .map_err(|_| Error::Signature(SignatureDefect::NotDer))?;
    Ok(s.normalize_s().unwrap_or(s).to_der().as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k256::ecdsa::signature::hazmat::PrehashSigner;
    use k256::ecdsa::{Signature, SigningKey};
    use sha2::{Digest as _, Sha256};

    fn keys_for(sk: &SigningKey) -> TrustedKeys {
        let mut keys = TrustedKeys::default();
        keys.add(PublicKey::Secp256k1(*sk.verifying_key()));
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
            assert_eq!(check.key_id, Some(keys.keys()[0].id()));
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

    #[test]
    fn p256_keys_verify_uploads_and_normalise_on_their_own_curve() {
        use p256::ecdsa::signature::hazmat::PrehashSigner as _;
        let sk = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let digest: [u8; 32] = Sha256::digest(b"plugin").into();
        let sig: p256::ecdsa::Signature = sk.sign_prehash(&digest).unwrap();
        let (r, s) = sig.split_scalars();
        let high = p256::ecdsa::Signature::from_scalars(r, -*s).unwrap();
        let mut keys = TrustedKeys::default();
        keys.add(PublicKey::P256(*sk.verifying_key()));
        // An Ed25519 key beside it is for attestations: it never verifies an upload.
        keys.add(PublicKey::Ed25519(
            ed25519_dalek::SigningKey::from_bytes(&[1; 32]).verifying_key(),
        ));
        let low = hex::encode(sig.normalize_s().unwrap_or(sig).to_der().as_bytes());
        let check = keys
            .check(&hex::encode(high.to_der().as_bytes()), &digest)
            .unwrap();
        assert_eq!(check.normalized, low);
        assert_eq!(check.key_id, Some(keys.keys()[0].id()));
        let elsewhere: [u8; 32] = Sha256::digest(b"other").into();
        assert!(matches!(
            keys.check(&low, &elsewhere),
            Err(Error::Signature(SignatureDefect::NoTrustedKey))
        ));
    }
}
