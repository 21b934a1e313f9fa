//! [`PublicKey`]'s methods: SPKI DER and PEM in and out, key files, the key id, and the
//! verifying half of the signature rule.

use std::path::Path;

use pkcs8::{DecodePublicKey, EncodePublicKey, LineEnding};
use sha2::{Digest as _, Sha256};

use super::{Algorithm, PrivateKey, PublicKey, Signed, key_error};
use crate::error::Error;

impl PublicKey {
    /// Parses SPKI DER.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, Error> {
        if let Ok(k) = k256::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Ok(PublicKey::Secp256k1(k));
        }
        if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Ok(PublicKey::P256(k));
        }
        if let Ok(k) = ed25519_dalek::VerifyingKey::from_public_key_der(der) {
            return Ok(PublicKey::Ed25519(k));
        }
        Err(key_error(
            "public key",
            "not a secp256k1, P-256 or Ed25519 SPKI public key",
        ))
    }

    /// Every `PUBLIC KEY` block of a PEM text.
    pub fn all_from_pem(text: &str, origin: &str) -> Result<Vec<Self>, Error> {
        let mut keys = Vec::new();
        let mut rest = text;
        const BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
        const END: &str = "-----END PUBLIC KEY-----";
        while let Some(start) = rest.find(BEGIN) {
            let end = rest[start..]
                .find(END)
                .ok_or_else(|| key_error(origin, "unterminated PEM block"))?
                + start
                + END.len();
            let block = &rest[start..end];
            let (_, der) = pkcs8::der::pem::decode_vec(block.as_bytes())
                .map_err(|e| key_error(origin, format!("bad PEM: {e}")))?;
            keys.push(Self::from_spki_der(&der).map_err(|e| key_error(origin, e))?);
            rest = &rest[end..];
        }
        if keys.is_empty() {
            return Err(key_error(origin, "no PUBLIC KEY block"));
        }
        Ok(keys)
    }

    /// The single public key of a PEM text.
    pub fn from_pem(text: &str, origin: &str) -> Result<Self, Error> {
        let mut keys = Self::all_from_pem(text, origin)?;
        if keys.len() > 1 {
            return Err(key_error(origin, "more than one public key"));
        }
        keys.pop()
            .ok_or_else(|| key_error(origin, "no PUBLIC KEY block"))
    }

    /// Reads a public key file; a private key file gives its public half.
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        Self::from_file_with(path, None)
    }

    /// As [`PublicKey::from_file`], with the passphrase of an encrypted private key file.
    ///
    /// Only the first line is read to tell the kinds apart, so a private key never passes
    /// through ordinary memory: it is read by [`PrivateKey::from_pem_file`], in guarded memory.
    pub fn from_file_with(path: &Path, passphrase: Option<&[u8]>) -> Result<Self, Error> {
        let origin = format!("key {}", path.display());
        let mut first = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(std::io::Read::take(
                std::fs::File::open(path).map_err(|e| key_error(&origin, e))?,
                64,
            )),
            &mut first,
        )
        .map_err(|e| key_error(&origin, e))?;
        if first.contains("PRIVATE KEY-----") {
            return Ok(PrivateKey::from_pem_file(path, passphrase)?
                .public()
                .clone());
        }
        let text = std::fs::read_to_string(path).map_err(|e| key_error(&origin, e))?;
        Self::from_pem(&text, &origin)
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            PublicKey::Secp256k1(_) => Algorithm::Secp256k1,
            PublicKey::P256(_) => Algorithm::P256,
            PublicKey::Ed25519(_) => Algorithm::Ed25519,
        }
    }

    /// SPKI DER.
    pub fn to_spki_der(&self) -> Vec<u8> {
        let doc = match self {
            PublicKey::Secp256k1(k) => k.to_public_key_der(),
            PublicKey::P256(k) => k.to_public_key_der(),
            PublicKey::Ed25519(k) => k.to_public_key_der(),
        };
        doc.map(|d| d.as_bytes().to_vec()).unwrap_or_default()
    }

    /// SPKI PEM, as `openssl pkey -pubout` writes it.
    pub fn to_pem(&self) -> String {
        pkcs8::der::pem::encode_string("PUBLIC KEY", LineEnding::LF, &self.to_spki_der())
            .unwrap_or_default()
    }

    /// Hex SHA-256 of the SPKI DER.
    pub fn id(&self) -> String {
        hex::encode(Sha256::digest(self.to_spki_der()))
    }

    /// Verifies `signature` over `signed`. The one place the rule lives: ECDSA (DER, high-S
    /// accepted) signs the SHA-256, Ed25519 (64 bytes, strict) signs the bytes themselves, so
    /// an Ed25519 key verifies nothing when only the digest is known.
    pub fn verify(&self, signed: &Signed<'_>, signature: &[u8]) -> bool {
        use k256::ecdsa::signature::hazmat::PrehashVerifier;
        match self {
            PublicKey::Secp256k1(k) => k256::ecdsa::Signature::from_der(signature)
                .map(|s| s.normalize_s().unwrap_or(s))
                .is_ok_and(|s| k.verify_prehash(&signed.digest, &s).is_ok()),
            PublicKey::P256(k) => p256::ecdsa::Signature::from_der(signature)
                .map(|s| s.normalize_s().unwrap_or(s))
                .is_ok_and(|s| k.verify_prehash(&signed.digest, &s).is_ok()),
            PublicKey::Ed25519(k) => signed.bytes.is_some_and(|bytes| {
                ed25519_dalek::Signature::from_slice(signature)
                    .is_ok_and(|s| k.verify_strict(bytes, &s).is_ok())
            }),
        }
    }

    /// The low-S DER form of an ECDSA signature on this key's curve (`None` for Ed25519
    /// keys and for bytes that are no DER signature).
    pub fn normalize(&self, signature: &[u8]) -> Option<Vec<u8>> {
        match self {
            PublicKey::Secp256k1(_) => k256::ecdsa::Signature::from_der(signature)
                .ok()
                .map(|s| s.normalize_s().unwrap_or(s).to_der().as_bytes().to_vec()),
            PublicKey::P256(_) => p256::ecdsa::Signature::from_der(signature)
                .ok()
                .map(|s| s.normalize_s().unwrap_or(s).to_der().as_bytes().to_vec()),
            PublicKey::Ed25519(_) => None,
        }
    }
}
