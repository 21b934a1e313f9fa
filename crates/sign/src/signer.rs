//! A secp256k1 private key that signs SHA-256 digests.
//!
//! The scalar is sealed in a `cairn-secmem` enclave and opened into guarded memory only for
//! the length of one signature; key files are read and decoded in guarded memory too. The
//! `Debug` form never shows the key.

use std::path::Path;

use cairn_secmem::{Enclave, LockedBuffer};
use k256::ecdsa::signature::hazmat::PrehashSigner;
use k256::ecdsa::{Signature, VerifyingKey};
use k256::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use sha2::{Digest as _, Sha256};

use crate::error::Error;

/// A signing key.
pub struct SigningKey {
    scalar: Enclave,
    public: VerifyingKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({}…)", &self.key_id()[..16])
    }
}

fn secret_error(origin: &str, e: cairn_secmem::Error) -> Error {
    Error::Key {
        origin: origin.into(),
        reason: e.to_string(),
    }
}

/// Runs `f` with the k256 key of a 32-byte scalar, then scrubs the stack it used.
fn with_key<R>(
    scalar: &LockedBuffer,
    f: impl FnOnce(&k256::ecdsa::SigningKey) -> R,
) -> Result<R, Error> {
    let key = k256::ecdsa::SigningKey::from_slice(&scalar.bytes());
    let result = match &key {
        Ok(key) => Ok(f(key)),
        Err(_) => Err(Error::Key {
            origin: "signing key".into(),
            reason: "not a valid secp256k1 scalar".into(),
        }),
    };
    drop(key);
    cairn_secmem::scrub_stack();
    result
}

impl SigningKey {
    /// A fresh random key, made in guarded memory.
    pub fn generate() -> Result<Self, Error> {
        loop {
            let scalar =
                LockedBuffer::random(32).map_err(|e| secret_error("new signing key", e))?;
            // A random 256-bit value is a valid scalar unless ≥ n or zero (odds about 2^-128).
            if let Ok(key) = Self::from_scalar(scalar) {
                return Ok(key);
            }
        }
    }

    /// A key from a 32-byte big-endian scalar in guarded memory (which it seals).
    pub fn from_scalar(scalar: LockedBuffer) -> Result<Self, Error> {
        let public = with_key(&scalar, |k| *k.verifying_key())?;
        let scalar = scalar.seal().map_err(|e| secret_error("signing key", e))?;
        Ok(SigningKey { scalar, public })
    }

    /// Reads a PKCS#8 PEM private key (`openssl pkcs8 -topk8 -nocrypt` output).
    pub fn from_pkcs8_pem(pem: &[u8], origin: &str) -> Result<Self, Error> {
        let decoded = cairn_secmem::decode_pem(pem).map_err(|e| secret_error(origin, e))?;
        Self::from_pkcs8_der(&decoded.der, origin)
    }

    /// Reads a PKCS#8 PEM private key file, in guarded memory from the first byte.
    pub fn from_pem_file(path: &Path) -> Result<Self, Error> {
        let origin = format!("private key {}", path.display());
        let decoded = cairn_secmem::read_pem_file(path).map_err(|e| secret_error(&origin, e))?;
        Self::from_pkcs8_der(&decoded.der, &origin)
    }

    fn from_pkcs8_der(der: &LockedBuffer, origin: &str) -> Result<Self, Error> {
        let mut scalar = LockedBuffer::new(32).map_err(|e| secret_error(origin, e))?;
        let parsed = k256::ecdsa::SigningKey::from_pkcs8_der(&der.bytes());
        let copied = match &parsed {
            Ok(key) => scalar
                .copy_from(&key.to_bytes())
                .map(drop)
                .map_err(|e| secret_error(origin, e)),
            Err(e) => Err(Error::Key {
                origin: origin.into(),
                reason: format!("not a PKCS#8 secp256k1 private key: {e}"),
            }),
        };
        drop(parsed);
        cairn_secmem::scrub_stack();
        copied?;
        Self::from_scalar(scalar)
    }

    /// Signs a SHA-256 digest: lowercase hex of the low-S DER signature.
    pub fn sign_digest(&self, digest: &[u8; 32]) -> Result<String, Error> {
        let scalar = self
            .scalar
            .open()
            .map_err(|e| secret_error("signing key", e))?;
        let signature: Result<Signature, _> = with_key(&scalar, |k| k.sign_prehash(digest))?;
        let signature = signature.map_err(|e| Error::Key {
            origin: "signing key".into(),
            reason: e.to_string(),
        })?;
        Ok(hex::encode(signature.to_der().as_bytes()))
    }

    /// Signs bytes (their SHA-256).
    pub fn sign(&self, bytes: &[u8]) -> Result<String, Error> {
        self.sign_digest(&Sha256::digest(bytes).into())
    }

    /// The public key as SPKI PEM, as `openssl ec -pubout` writes it.
    pub fn public_key_pem(&self) -> String {
        self.public
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_default()
    }

    /// Hex SHA-256 of the public key's SPKI DER.
    pub fn key_id(&self) -> String {
        let der = self
            .public
            .to_public_key_der()
            .map(|d| d.as_bytes().to_vec())
            .unwrap_or_default();
        hex::encode(Sha256::digest(der))
    }
}
