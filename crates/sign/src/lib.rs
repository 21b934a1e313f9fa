//! Keys and signatures in the formats publishers already use.
//!
//! Today: ECDSA over secp256k1 with SHA-256, signatures as hex of DER, exactly what
//! `openssl dgst -sha256 -hex -sign` writes and what memflow-registry accepts. Keys are
//! PKCS#8 PEM (private) and SPKI PEM (public), byte-compatible with openssl; a key's id is
//! the hex SHA-256 of its SPKI DER.
//!
//! ```
//! use cairn_sign::{SigningKey, TrustedKeys};
//! let key = SigningKey::generate().unwrap();
//! let digest = cairn_sign::sha256(b"plugin bytes");
//! let signature = key.sign_digest(&digest).unwrap();
//! let mut trusted = TrustedKeys::default();
//! trusted.add_pem(&key.public_key_pem(), "example").unwrap();
//! let check = trusted.check(&signature, &digest).unwrap();
//! assert_eq!(check.key_id.as_deref(), Some(key.key_id().as_str()));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod keys;
pub mod openpgp;
pub mod policy;
mod signer;
mod verify;

pub use error::{Error, SignatureDefect};
pub use keys::{Algorithm, PrivateKey, PublicKey};
pub use signer::SigningKey;
pub use verify::{Ed25519Key, SignatureCheck, TrustedKey, TrustedKeys};

/// SHA-256 of a byte string.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}
