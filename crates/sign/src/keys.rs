//! Keys of the three algorithms Cairn signs with, as openssl writes and reads them: PKCS#8
//! private keys (optionally passphrase-encrypted, PBES2), SPKI public keys, key id = hex
//! SHA-256 of the SPKI DER.
//!
//! Private keys are decoded, and kept, in `cairn-secmem` memory: sealed in an enclave, opened
//! into a guarded buffer for one signature.
//!
//! The types live here; [`PublicKey`]'s methods in `public.rs`, [`PrivateKey`]'s signing in
//! `signing.rs`, its PKCS#8 and SEC1 files in `private_pem.rs` and their passphrase
//! encryption in `encrypted.rs`.

mod encrypted;
mod private_pem;
mod public;
mod signing;

use std::fmt;
use std::str::FromStr;

use cairn_secmem::Enclave;
use sha2::{Digest as _, Sha256};

use crate::error::Error;

/// A signature algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// ECDSA over secp256k1 with SHA-256 (memflow's choice).
    Secp256k1,
    /// ECDSA over NIST P-256 with SHA-256.
    P256,
    /// Ed25519 (pure, over the message bytes).
    Ed25519,
}

impl Algorithm {
    /// Every algorithm.
    pub const ALL: [Algorithm; 3] = [Algorithm::Secp256k1, Algorithm::P256, Algorithm::Ed25519];
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Algorithm::Secp256k1 => "secp256k1",
            Algorithm::P256 => "p256",
            Algorithm::Ed25519 => "ed25519",
        })
    }
}

impl FromStr for Algorithm {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "secp256k1" | "k256" => Ok(Algorithm::Secp256k1),
            "p256" | "p-256" | "prime256v1" | "secp256r1" => Ok(Algorithm::P256),
            "ed25519" => Ok(Algorithm::Ed25519),
            _ => Err(key_error(
                "algorithm",
                format!("unknown algorithm {s:?} (secp256k1, p256, ed25519)"),
            )),
        }
    }
}

fn key_error(origin: &str, reason: impl fmt::Display) -> Error {
    Error::Key {
        origin: origin.into(),
        reason: reason.to_string(),
    }
}

fn secret_error(origin: &str) -> impl Fn(cairn_secmem::Error) -> Error + '_ {
    move |e| key_error(origin, e)
}

/// A public key of any of the three algorithms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// secp256k1 ECDSA.
    Secp256k1(k256::ecdsa::VerifyingKey),
    /// P-256 ECDSA.
    P256(p256::ecdsa::VerifyingKey),
    /// Ed25519.
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// What a signature is over: a message's SHA-256, and the message itself when it is at hand.
///
/// ECDSA signatures need only the digest; Ed25519 ones need the bytes (see
/// [`PublicKey::verify`]).
#[derive(Clone, Copy, Debug)]
pub struct Signed<'a> {
    digest: [u8; 32],
    bytes: Option<&'a [u8]>,
}

impl<'a> Signed<'a> {
    /// A message in full.
    pub fn bytes(bytes: &'a [u8]) -> Self {
        Signed {
            digest: Sha256::digest(bytes).into(),
            bytes: Some(bytes),
        }
    }

    /// A message known by its SHA-256 only (a large file hashed while it streamed).
    pub fn digest(digest: [u8; 32]) -> Self {
        Signed {
            digest,
            bytes: None,
        }
    }

    /// A message whose SHA-256 the caller already computed.
    pub fn hashed(digest: [u8; 32], bytes: &'a [u8]) -> Self {
        Signed {
            digest,
            bytes: Some(bytes),
        }
    }

    /// The SHA-256.
    pub fn sha256(&self) -> &[u8; 32] {
        &self.digest
    }
}

/// A private key, sealed in guarded memory. Its `Debug` form shows only the public key id.
pub struct PrivateKey {
    algorithm: Algorithm,
    secret: Enclave,
    public: PublicKey,
}
