//! A secp256k1 private key that signs SHA-256 digests in memflow-registry's format.
//!
//! A thin view of [`PrivateKey`] fixed to secp256k1, the curve memflow-registry's uploads
//! use; the key itself lives in `cairn-secmem` memory like every private key.

use std::path::Path;

use cairn_secmem::LockedBuffer;
use sha2::{Digest as _, Sha256};

use crate::error::Error;
use crate::keys::{Algorithm, PrivateKey};

/// A secp256k1 signing key.
pub struct SigningKey {
    inner: PrivateKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({}…)", &self.key_id()[..16])
    }
}

fn only_secp256k1(key: PrivateKey, origin: &str) -> Result<SigningKey, Error> {
    if key.algorithm() != Algorithm::Secp256k1 {
        return Err(Error::Key {
            origin: origin.into(),
            reason: format!("a {} key, not secp256k1", key.algorithm()),
        });
    }
    Ok(SigningKey { inner: key })
}

impl SigningKey {
    /// A fresh random key, made in guarded memory.
    pub fn generate() -> Result<Self, Error> {
        PrivateKey::generate(Algorithm::Secp256k1).map(|inner| SigningKey { inner })
    }

    /// A key from a 32-byte big-endian scalar in guarded memory (which it seals).
    pub fn from_scalar(scalar: LockedBuffer) -> Result<Self, Error> {
        PrivateKey::from_secret(Algorithm::Secp256k1, scalar).map(|inner| SigningKey { inner })
    }

    /// Reads a PKCS#8 PEM private key (`openssl pkcs8 -topk8 -nocrypt` output).
    pub fn from_pkcs8_pem(pem: &[u8], origin: &str) -> Result<Self, Error> {
        only_secp256k1(PrivateKey::from_pem(pem, None, origin)?, origin)
    }

    /// Reads a PEM private key file, in guarded memory from the first byte.
    pub fn from_pem_file(path: &Path) -> Result<Self, Error> {
        let origin = format!("private key {}", path.display());
        only_secp256k1(PrivateKey::from_pem_file(path, None)?, &origin)
    }

    /// Signs a SHA-256 digest: lowercase hex of the low-S DER signature.
    pub fn sign_digest(&self, digest: &[u8; 32]) -> Result<String, Error> {
        self.inner.sign_digest(digest).map(hex::encode)
    }

    /// Signs bytes (their SHA-256).
    pub fn sign(&self, bytes: &[u8]) -> Result<String, Error> {
        self.sign_digest(&Sha256::digest(bytes).into())
    }

    /// The public key as SPKI PEM, as `openssl ec -pubout` writes it.
    pub fn public_key_pem(&self) -> String {
        self.inner.public().to_pem()
    }

    /// Hex SHA-256 of the public key's SPKI DER.
    pub fn key_id(&self) -> String {
        self.inner.public().id()
    }
}
