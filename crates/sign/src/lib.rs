//! Keys and signatures in the formats publishers already use, the trust policy a user
//! holds, and the attestation formats (in-toto links, DSSE envelopes).
//!
//! One key model: a [`PublicKey`] is secp256k1, P-256 or Ed25519; a [`PrivateKey`] of any of
//! them lives in `cairn-secmem` memory. What a signature covers is a [`Signed`] message, and
//! [`PublicKey::verify`] is the one place that knows ECDSA signs the SHA-256 while Ed25519
//! signs the bytes. Upload signatures are hex DER ECDSA, exactly what
//! `openssl dgst -sha256 -hex -sign` writes and what memflow-registry accepts; keys are
//! PKCS#8 PEM (private) and SPKI PEM (public), byte-compatible with openssl; a key's id is
//! the hex SHA-256 of its SPKI DER.
//!
//! Packages carry detached signatures of any kind (OpenPGP from GnuPG or from a Cairn key,
//! hex DER ECDSA, raw or hex Ed25519): [`detached`] tells them apart and checks them over
//! files it streams, under Cairn and OpenPGP keys alike.
//!
//! ```
//! use cairn_sign::{Algorithm, PrivateKey, TrustedKeys};
//! let key = PrivateKey::generate(Algorithm::Secp256k1).unwrap();
//! let digest = cairn_sign::sha256(b"plugin bytes");
//! let signature = hex::encode(key.sign_digest(&digest).unwrap());
//! let mut trusted = TrustedKeys::default();
//! trusted.add(key.public().clone());
//! let check = trusted.check(&signature, &digest).unwrap();
//! assert_eq!(check.key_id, Some(key.public().id()));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod attestation;
pub mod detached;
mod error;
mod keys;
#[cfg(feature = "openpgp")]
pub mod openpgp;
pub mod policy;
mod verify;

pub use error::{Error, SignatureDefect};
pub use keys::{Algorithm, PrivateKey, PublicKey, Signed};
pub use verify::{SignatureCheck, TrustedKeys};

/// SHA-256 of a byte string.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}
