//! [`PrivateKey`] files as openssl writes and reads them: PKCS#8 (plain or encrypted) and
//! SEC1 `EC PRIVATE KEY` PEM, decoded in guarded memory.

use std::path::Path;

use cairn_secmem::LockedBuffer;
use pkcs8::der::Decode;
use pkcs8::spki::ObjectIdentifier;

use super::encrypted::{decrypt_pkcs8, encrypt_pkcs8};
use super::{Algorithm, PrivateKey, key_error, secret_error};
use crate::error::Error;

/// OID of Ed25519 keys.
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// OID of elliptic-curve public keys (ECDSA).
const OID_EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// Curve OIDs.
const OID_SECP256K1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.10");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// PKCS#8 DER up to the 32 secret bytes, as `openssl genpkey` writes it (v1, for Ed25519;
/// for EC keys, an ECPrivateKey without the optional parameters and public key, which
/// openssl recomputes).
const PREFIX_ED25519: &[u8] = &[
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
const PREFIX_SECP256K1: &[u8] = &[
    0x30, 0x3e, 0x02, 0x01, 0x00, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a, 0x04, 0x27, 0x30, 0x25, 0x02, 0x01, 0x01, 0x04, 0x20,
];
const PREFIX_P256: &[u8] = &[
    0x30, 0x41, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x27, 0x30, 0x25, 0x02, 0x01,
    0x01, 0x04, 0x20,
];

impl Algorithm {
    fn prefix(self) -> &'static [u8] {
        match self {
            Algorithm::Secp256k1 => PREFIX_SECP256K1,
            Algorithm::P256 => PREFIX_P256,
            Algorithm::Ed25519 => PREFIX_ED25519,
        }
    }

    fn from_curve(curve: ObjectIdentifier) -> Option<Self> {
        match curve {
            OID_SECP256K1 => Some(Algorithm::Secp256k1),
            OID_P256 => Some(Algorithm::P256),
            _ => None,
        }
    }
}

impl PrivateKey {
    /// Reads a private key file (PKCS#8, encrypted PKCS#8, or SEC1 `EC PRIVATE KEY`) in
    /// guarded memory from the first byte.
    pub fn from_pem_file(path: &Path, passphrase: Option<&[u8]>) -> Result<Self, Error> {
        let origin = format!("private key {}", path.display());
        let pem = cairn_secmem::read_pem_file(path).map_err(secret_error(&origin))?;
        Self::from_decoded(&pem.label, &pem.der, passphrase, &origin)
    }

    /// Reads a private key from PEM text.
    pub fn from_pem(text: &[u8], passphrase: Option<&[u8]>, origin: &str) -> Result<Self, Error> {
        let pem = cairn_secmem::decode_pem(text).map_err(secret_error(origin))?;
        Self::from_decoded(&pem.label, &pem.der, passphrase, origin)
    }

    fn from_decoded(
        label: &str,
        der: &LockedBuffer,
        passphrase: Option<&[u8]>,
        origin: &str,
    ) -> Result<Self, Error> {
        match label {
            "PRIVATE KEY" => Self::from_pkcs8(&der.bytes(), origin),
            "ENCRYPTED PRIVATE KEY" => {
                let passphrase = passphrase.ok_or_else(|| {
                    key_error(origin, "the key is encrypted: a passphrase is needed")
                })?;
                let plain = decrypt_pkcs8(der, passphrase, origin)?;
                Self::from_pkcs8(&plain.0.bytes()[..plain.1], origin)
            }
            "EC PRIVATE KEY" => Self::from_sec1(&der.bytes(), None, origin),
            other => Err(key_error(
                origin,
                format!("a {other:?} PEM block, not a private key"),
            )),
        }
    }

    fn from_pkcs8(der: &[u8], origin: &str) -> Result<Self, Error> {
        let info = pkcs8::PrivateKeyInfo::from_der(der)
            .map_err(|e| key_error(origin, format!("not a PKCS#8 private key: {e}")))?;
        let oid = info.algorithm.oid;
        if oid == OID_ED25519 {
            // privateKey holds an OCTET STRING of the 32-byte seed.
            let [0x04, 0x20, seed @ ..] = info.private_key else {
                return Err(key_error(origin, "malformed Ed25519 private key"));
            };
            return Self::from_secret_bytes(Algorithm::Ed25519, seed, origin);
        }
        if oid != OID_EC {
            return Err(key_error(
                origin,
                format!("unsupported key algorithm {oid} (secp256k1, P-256, Ed25519)"),
            ));
        }
        let curve = info
            .algorithm
            .parameters_oid()
            .map_err(|_| key_error(origin, "EC key without a named curve"))?;
        Self::from_sec1(info.private_key, Some(curve), origin)
    }

    fn from_sec1(der: &[u8], curve: Option<ObjectIdentifier>, origin: &str) -> Result<Self, Error> {
        let ec = sec1::EcPrivateKey::from_der(der)
            .map_err(|e| key_error(origin, format!("malformed EC private key: {e}")))?;
        let curve = curve
            .or_else(|| ec.parameters.and_then(|p| p.named_curve()))
            .ok_or_else(|| key_error(origin, "EC key without a named curve"))?;
        let algorithm = Algorithm::from_curve(curve).ok_or_else(|| {
            key_error(
                origin,
                format!("unsupported curve {curve} (secp256k1, P-256)"),
            )
        })?;
        if ec.private_key.len() > 32 {
            return Err(key_error(origin, "EC private key longer than 32 bytes"));
        }
        // Left-pad: some encoders drop leading zero bytes.
        let mut secret = LockedBuffer::new(32).map_err(secret_error(origin))?;
        secret
            .copy_at(32 - ec.private_key.len(), ec.private_key)
            .map_err(secret_error(origin))?;
        Self::from_secret(algorithm, secret)
    }

    fn from_secret_bytes(algorithm: Algorithm, bytes: &[u8], origin: &str) -> Result<Self, Error> {
        if bytes.len() != 32 {
            return Err(key_error(origin, "the secret is not 32 bytes"));
        }
        let mut secret = LockedBuffer::new(32).map_err(secret_error(origin))?;
        secret.copy_from(bytes).map_err(secret_error(origin))?;
        Self::from_secret(algorithm, secret)
    }

    /// PKCS#8 PEM in guarded memory; encrypted (PBES2: PBKDF2-HMAC-SHA256, AES-256-CBC, as
    /// `openssl pkcs8 -topk8 -v2 aes-256-cbc` makes) when a passphrase is given.
    pub fn to_pem(&self, passphrase: Option<&[u8]>) -> Result<LockedBuffer, Error> {
        let origin = "private key";
        let secret = self.secret.open().map_err(secret_error(origin))?;
        let prefix = self.algorithm.prefix();
        // Room for the CBC padding when encrypting in place.
        let mut der = LockedBuffer::new(prefix.len() + 32 + 16).map_err(secret_error(origin))?;
        der.copy_from(prefix).map_err(secret_error(origin))?;
        der.copy_at(prefix.len(), &secret.bytes())
            .map_err(secret_error(origin))?;
        drop(secret);
        let len = prefix.len() + 32;
        match passphrase {
            None => cairn_secmem::encode_pem("PRIVATE KEY", &der.bytes()[..len])
                .map_err(secret_error(origin)),
            Some(passphrase) => {
                let encrypted = encrypt_pkcs8(&mut der, len, passphrase)?;
                cairn_secmem::encode_pem("ENCRYPTED PRIVATE KEY", &encrypted)
                    .map_err(secret_error(origin))
            }
        }
    }
}
