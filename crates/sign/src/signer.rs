//! A secp256k1 private key that signs SHA-256 digests.
//!
//! The key bytes live in `k256`'s own zeroizing type and are wiped on drop; the `Debug`
//! form never shows them. (Guarded, locked memory comes with `cairn-secmem`.)

use k256::ecdsa::signature::hazmat::PrehashSigner;
use k256::ecdsa::{Signature, VerifyingKey};
use k256::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use sha2::{Digest as _, Sha256};

use crate::error::Error;

/// A signing key.
pub struct SigningKey {
    inner: k256::ecdsa::SigningKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({}…)", &self.key_id()[..16])
    }
}

impl SigningKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        SigningKey {
            inner: k256::ecdsa::SigningKey::random(&mut k256::elliptic_curve::rand_core::OsRng),
        }
    }

    /// Reads a PKCS#8 PEM private key (`openssl pkcs8 -topk8 -nocrypt` output).
    pub fn from_pkcs8_pem(pem: &str, origin: &str) -> Result<Self, Error> {
        let inner = k256::ecdsa::SigningKey::from_pkcs8_pem(pem).map_err(|e| Error::Key {
            origin: origin.into(),
            reason: format!("not a PKCS#8 secp256k1 private key: {e}"),
        })?;
        Ok(SigningKey { inner })
    }

    /// Reads a PKCS#8 PEM private key file.
    pub fn from_pem_file(path: &std::path::Path) -> Result<Self, Error> {
        let origin = format!("private key {}", path.display());
        let pem =
            zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| Error::Key {
                origin: origin.clone(),
                reason: e.to_string(),
            })?);
        Self::from_pkcs8_pem(&pem, &origin)
    }

    /// Signs a SHA-256 digest: lowercase hex of the low-S DER signature.
    pub fn sign_digest(&self, digest: &[u8; 32]) -> String {
        let signature: Signature = match self.inner.sign_prehash(digest) {
            Ok(s) => s,
            // A 32-byte prehash is always accepted for secp256k1; keep the type honest.
            Err(_) => return String::new(),
        };
        hex::encode(signature.to_der().as_bytes())
    }

    /// Signs bytes (their SHA-256).
    pub fn sign(&self, bytes: &[u8]) -> String {
        self.sign_digest(&Sha256::digest(bytes).into())
    }

    /// The public key as SPKI PEM, as `openssl ec -pubout` writes it.
    pub fn public_key_pem(&self) -> String {
        VerifyingKey::from(&self.inner)
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_default()
    }

    /// Hex SHA-256 of the public key's SPKI DER.
    pub fn key_id(&self) -> String {
        let der = VerifyingKey::from(&self.inner)
            .to_public_key_der()
            .map(|d| d.as_bytes().to_vec())
            .unwrap_or_default();
        hex::encode(Sha256::digest(der))
    }
}
