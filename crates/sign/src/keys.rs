//! Keys of the three algorithms Cairn signs with, as openssl writes and reads them: PKCS#8
//! private keys (optionally passphrase-encrypted, PBES2), SPKI public keys, key id = hex
//! SHA-256 of the SPKI DER.
//!
//! Private keys are decoded, and kept, in `cairn-secmem` memory: sealed in an enclave, opened
//! into a guarded buffer for one signature.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use cairn_secmem::{Enclave, LockedBuffer};
use pkcs8::der::{Decode, Encode};
use pkcs8::spki::ObjectIdentifier;
use pkcs8::{DecodePublicKey, EncodePublicKey, LineEnding};
use sha2::{Digest as _, Sha256};

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

/// PBKDF2-HMAC-SHA256 rounds for passphrase-encrypted keys (OWASP's 2023 figure).
const PBKDF2_ROUNDS: u32 = 600_000;

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

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The public half.
    pub fn public(&self) -> &PublicKey {
        &self.public
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

/// Decrypts an `ENCRYPTED PRIVATE KEY` in guarded memory; returns the buffer and the length
/// of the plaintext at its start.
fn decrypt_pkcs8(
    der: &LockedBuffer,
    passphrase: &[u8],
    origin: &str,
) -> Result<(LockedBuffer, usize), Error> {
    let bytes = der.bytes();
    let info = pkcs8::EncryptedPrivateKeyInfo::from_der(&bytes)
        .map_err(|e| key_error(origin, format!("not an encrypted PKCS#8 key: {e}")))?;
    let mut plain =
        LockedBuffer::new(info.encrypted_data.len().max(1)).map_err(secret_error(origin))?;
    let n = {
        let mut buf = plain.bytes_mut().map_err(secret_error(origin))?;
        buf.copy_from_slice(info.encrypted_data);
        info.encryption_algorithm
            .decrypt_in_place(passphrase, &mut buf)
            .map_err(|_| key_error(origin, "wrong passphrase, or a damaged key"))?
            .len()
    };
    Ok((plain, n))
}

/// Encrypts the first `len` bytes of `der` in place (it has 16 spare bytes) and returns the
/// `EncryptedPrivateKeyInfo` DER.
fn encrypt_pkcs8(der: &mut LockedBuffer, len: usize, passphrase: &[u8]) -> Result<Vec<u8>, Error> {
    let origin = "private key";
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt);
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut iv);
    let params = pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(PBKDF2_ROUNDS, &salt, &iv)
        .map_err(|e| key_error(origin, e))?;
    let mut buf = der.bytes_mut().map_err(secret_error(origin))?;
    let ciphertext = params
        .encrypt_in_place(passphrase, &mut buf, len)
        .map_err(|e| key_error(origin, e))?;
    pkcs8::EncryptedPrivateKeyInfo {
        encryption_algorithm: params.into(),
        encrypted_data: ciphertext,
    }
    .to_der()
    .map_err(|e| key_error(origin, e))
}
