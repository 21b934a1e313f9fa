//! [`PrivateKey`]'s signing half: new and imported keys, and signatures made with the
//! secret opened into guarded memory for one operation.

use std::fmt;

use cairn_secmem::LockedBuffer;

use super::{Algorithm, PrivateKey, PublicKey, Signed, key_error, secret_error};
use crate::error::Error;

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PrivateKey({} {})",
            self.algorithm,
            &self.public.id()[..16]
        )
    }
}

/// A key ready to sign, built from the opened secret for one operation.
enum Live {
    Secp256k1(k256::ecdsa::SigningKey),
    P256(p256::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

/// Runs `f` with the live key of `secret`, then scrubs the stack it used.
fn with_live<R>(
    algorithm: Algorithm,
    secret: &LockedBuffer,
    f: impl FnOnce(&Live) -> R,
) -> Result<R, Error> {
    let bytes = secret.bytes();
    let live = match algorithm {
        Algorithm::Secp256k1 => k256::ecdsa::SigningKey::from_slice(&bytes)
            .map(Live::Secp256k1)
            .ok(),
        Algorithm::P256 => p256::ecdsa::SigningKey::from_slice(&bytes)
            .map(Live::P256)
            .ok(),
        Algorithm::Ed25519 => bytes
            .as_array::<32>()
            .map(|seed| Live::Ed25519(ed25519_dalek::SigningKey::from_bytes(seed))),
    };
    let result = live.as_ref().map(f);
    drop(live);
    cairn_secmem::scrub_stack();
    result.ok_or_else(|| key_error("private key", format!("not a valid {algorithm} key")))
}

impl PrivateKey {
    /// A new random key, made in guarded memory.
    pub fn generate(algorithm: Algorithm) -> Result<Self, Error> {
        loop {
            let secret = LockedBuffer::random(32).map_err(secret_error("new key"))?;
            // Only ECDSA scalars ≥ n or zero are invalid: odds about 2^-128 per try.
            if let Ok(key) = Self::from_secret(algorithm, secret) {
                return Ok(key);
            }
        }
    }

    /// A key from its 32 secret bytes (big-endian scalar, or Ed25519 seed) in guarded memory.
    pub fn from_secret(algorithm: Algorithm, secret: LockedBuffer) -> Result<Self, Error> {
        let public = with_live(algorithm, &secret, |live| match live {
            Live::Secp256k1(k) => PublicKey::Secp256k1(*k.verifying_key()),
            Live::P256(k) => PublicKey::P256(*k.verifying_key()),
            Live::Ed25519(k) => PublicKey::Ed25519(k.verifying_key()),
        })?;
        let secret = secret.seal().map_err(secret_error("private key"))?;
        Ok(PrivateKey {
            algorithm,
            secret,
            public,
        })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The public half.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// Signs `signed`: DER ECDSA (low-S) over its SHA-256, or Ed25519 over the bytes (the
    /// signing half of the rule [`PublicKey::verify`] checks; Ed25519 needs the bytes).
    pub fn sign(&self, signed: &Signed<'_>) -> Result<Vec<u8>, Error> {
        match self.algorithm {
            Algorithm::Ed25519 => {
                let bytes = signed.bytes.ok_or_else(|| {
                    key_error(
                        "private key",
                        "Ed25519 signs the message itself, not a digest",
                    )
                })?;
                self.with_key(|live| match live {
                    Live::Ed25519(k) => {
                        use ed25519_dalek::Signer as _;
                        Some(k.sign(bytes).to_bytes().to_vec())
                    }
                    _ => None,
                })
            }
            _ => self.sign_digest(signed.sha256()),
        }
    }

    /// Signs a SHA-256 digest (ECDSA keys only: Ed25519 signs whole messages).
    pub fn sign_digest(&self, digest: &[u8; 32]) -> Result<Vec<u8>, Error> {
        use k256::ecdsa::signature::hazmat::PrehashSigner;
        self.with_key(|live| match live {
            Live::Secp256k1(k) => {
                let s: Option<k256::ecdsa::Signature> = k.sign_prehash(digest).ok();
                s.map(|s| s.to_der().as_bytes().to_vec())
            }
            Live::P256(k) => {
                let s: Option<p256::ecdsa::Signature> = k.sign_prehash(digest).ok();
                s.map(|s| s.to_der().as_bytes().to_vec())
            }
            Live::Ed25519(_) => None,
        })
    }

    fn with_key(&self, f: impl FnOnce(&Live) -> Option<Vec<u8>>) -> Result<Vec<u8>, Error> {
        let secret = self.secret.open().map_err(secret_error("private key"))?;
        with_live(self.algorithm, &secret, f)?.ok_or_else(|| {
            key_error(
                "private key",
                format!("{} keys cannot sign this way", self.algorithm),
            )
        })
    }
}
