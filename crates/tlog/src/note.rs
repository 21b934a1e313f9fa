//! C2SP signed notes with Ed25519 keys (golang.org/x/mod/sumdb/note compatible).
//!
//! A note is UTF-8 text ending in a newline, a blank line, then signature lines
//! `— <name> <base64(key id ‖ signature)>`. The signature covers the text including its final
//! newline. A verifier ignores signatures by keys it does not know, refuses the note when a
//! known key's signature is bad, and requires at least one good one.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use cairn_secmem::{Enclave, LockedBuffer};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};

use crate::error::{Defect, Error, SignatureFailure};

/// Signature type byte of Ed25519 keys.
pub(crate) const ALG_ED25519: u8 = 0x01;
/// Most signature lines accepted in one note.
const MAX_SIGNATURES: usize = 100;
/// Largest note accepted.
const MAX_NOTE: usize = 1_000_000;

fn malformed(defect: Defect) -> Error {
    Error::Malformed {
        what: "signed note",
        defect,
    }
}

/// `<field> is not base64`.
pub(crate) fn not_base64(field: &'static str) -> Defect {
    Defect::Encoding {
        field,
        expected: "base64",
    }
}

/// `<name>+<id>+<key data>`, the shape of verifier keys and (after `PRIVATE+KEY+`) of
/// signer keys.
pub(crate) const KEY_SHAPE: Defect = Defect::Encoding {
    field: "key",
    expected: "name+id+key",
};

/// `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]` as a big-endian integer.
pub fn key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    typed_key_id(name, ALG_ED25519, public_key)
}

/// `SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]`: the key id of a key of signature type
/// `alg` (0x01 notes, 0x04 cosignatures).
pub fn typed_key_id(name: &str, alg: u8, public_key: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', alg]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Key names are non-empty, without whitespace and without `+`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

/// Parses `<name>+<8 hex id>+<base64(alg ‖ 32-byte key)>` (a verifier key of signature
/// type `alg`), checking the type and the id; `what` names it in errors.
pub(crate) fn parse_typed_key(
    vkey: &str,
    alg: u8,
    what: &'static str,
) -> Result<(String, u32, VerifyingKey), Error> {
    let bad = |defect| Error::Malformed { what, defect };
    // Split from the left: names cannot hold '+', base64 key data can.
    let mut parts = vkey.splitn(3, '+');
    let (Some(name), Some(id_hex), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad(KEY_SHAPE));
    };
    if !is_valid_name(name) || id_hex.len() != 8 {
        return Err(bad(Defect::Invalid("name or id")));
    }
    let id = u32::from_str_radix(id_hex, 16).map_err(|_| {
        bad(Defect::Encoding {
            field: "id",
            expected: "hex",
        })
    })?;
    let raw = B64.decode(data).map_err(|_| bad(not_base64("key")))?;
    let key = match raw.split_first() {
        Some((&t, key)) if t == alg => key,
        _ if alg == ALG_ED25519 => return Err(bad(Defect::NotEd25519)),
        _ => return Err(bad(Defect::Invalid("key type"))),
    };
    let key: [u8; 32] = key.try_into().map_err(|_| {
        bad(Defect::Length {
            field: "Ed25519 key",
            expected: 32,
            found: key.len(),
        })
    })?;
    if typed_key_id(name, alg, &key) != id {
        return Err(bad(Defect::KeyIdMismatch));
    }
    let key = VerifyingKey::from_bytes(&key).map_err(|_| bad(Defect::Invalid("Ed25519 point")))?;
    Ok((name.to_owned(), id, key))
}

/// A public key that verifies notes, known by name and key id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Parses `<name>+<8 hex id>+<base64(0x01 ‖ 32-byte key)>`, checking the id.
    pub fn parse(vkey: &str) -> Result<Self, Error> {
        let (name, id, key) = parse_typed_key(vkey, ALG_ED25519, "verifier key")?;
        Ok(NoteVerifier { name, id, key })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn id(&self) -> u32 {
        self.id
    }

    fn verifies(&self, text: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = ed25519_dalek::Signature::from_slice(signature) else {
            return false;
        };
        self.key.verify_strict(text, &sig).is_ok()
    }
}

impl fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut data = vec![ALG_ED25519];
        data.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.id, B64.encode(data))
    }
}

/// A private key that signs notes. The seed stays sealed in a `cairn-secmem` enclave and is
/// opened into guarded memory only for the length of one signature. Its `Debug` form never
/// shows the key.
pub struct NoteSigner {
    name: String,
    seed: Enclave,
    public: VerifyingKey,
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoteSigner({}+{:08x})", self.name, self.verifier().id)
    }
}

/// Runs `f` with the Ed25519 key of a 32-byte seed, then scrubs the stack it used.
pub(crate) fn with_key<R>(
    seed: &LockedBuffer,
    f: impl FnOnce(&SigningKey) -> R,
) -> Result<R, Error> {
    let bytes = seed.bytes();
    let seed: &[u8; 32] = bytes.as_array().ok_or_else(|| Error::Malformed {
        what: "signer key",
        defect: Defect::Length {
            field: "Ed25519 seed",
            expected: 32,
            found: bytes.len(),
        },
    })?;
    let result = f(&SigningKey::from_bytes(seed));
    cairn_secmem::scrub_stack();
    Ok(result)
}

impl NoteSigner {
    /// A signer from a 32-byte Ed25519 seed in guarded memory (which it seals).
    pub fn from_secret(name: &str, seed: LockedBuffer) -> Result<Self, Error> {
        if !is_valid_name(name) {
            return Err(Error::Malformed {
                what: "key name",
                defect: Defect::BadName(name.to_owned()),
            });
        }
        let public = with_key(&seed, SigningKey::verifying_key)?;
        Ok(NoteSigner {
            name: name.to_owned(),
            seed: seed.seal()?,
            public,
        })
    }

    /// A signer from a 32-byte Ed25519 seed (copied into guarded memory; the caller wipes
    /// its own copy).
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, Error> {
        let mut buf = LockedBuffer::new(32)?;
        buf.copy_from(seed)?;
        Self::from_secret(name, buf)
    }

    /// A fresh random signer.
    pub fn generate(name: &str) -> Result<Self, Error> {
        Self::from_secret(name, LockedBuffer::random(32)?)
    }

    /// Parses Go's `PRIVATE+KEY+<name>+<id>+<base64(0x01 ‖ seed)>`.
    pub fn parse(skey: &str) -> Result<Self, Error> {
        let bad = |defect| Error::Malformed {
            what: "signer key",
            defect,
        };
        let rest = skey
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| bad(Defect::Missing("PRIVATE+KEY+ prefix")))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(data)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad(KEY_SHAPE));
        };
        // Decoded in guarded memory: 0x01 then the 32-byte seed.
        let mut raw = LockedBuffer::new(base64::decoded_len_estimate(data.len()).max(1))?;
        let n = B64
            .decode_slice(data, &mut raw.bytes_mut()?)
            .map_err(|_| bad(not_base64("key")))?;
        let raw = raw.bytes();
        let [ALG_ED25519, seed @ ..] = &raw[..n] else {
            return Err(bad(Defect::NotEd25519));
        };
        if seed.len() != 32 {
            return Err(bad(Defect::Length {
                field: "Ed25519 seed",
                expected: 32,
                found: seed.len(),
            }));
        }
        let mut secret = LockedBuffer::new(32)?;
        secret.copy_from(seed)?;
        let signer = Self::from_secret(name, secret)?;
        if format!("{:08x}", signer.verifier().id) != id_hex {
            return Err(bad(Defect::KeyIdMismatch));
        }
        Ok(signer)
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        let key = self.public;
        NoteVerifier {
            name: self.name.clone(),
            id: key_id(&self.name, key.as_bytes()),
            key,
        }
    }

    /// Signs `text` (which must end in a newline) and returns the whole signed note.
    pub fn sign(&self, text: &str) -> Result<String, Error> {
        check_text(text)?;
        let seed = self.seed.open()?;
        let sig = with_key(&seed, |key| key.sign(text.as_bytes()))?;
        drop(seed);
        let mut blob = self.verifier().id.to_be_bytes().to_vec();
        blob.extend_from_slice(&sig.to_bytes());
        Ok(format!("{text}\n— {} {}\n", self.name, B64.encode(blob)))
    }
}

fn check_text(text: &str) -> Result<(), Error> {
    if !text.ends_with('\n') {
        return Err(malformed(Defect::Unterminated("text")));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(malformed(Defect::ControlCharacters));
    }
    Ok(())
}

/// One signature line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// Key name.
    pub name: String,
    /// Key id.
    pub id: u32,
    /// The signature bytes (after the id).
    pub signature: Vec<u8>,
}

/// A parsed signed note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// Parses a signed note (not yet verified).
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() > MAX_NOTE {
            return Err(malformed(Defect::TooLarge {
                field: "note",
                max: MAX_NOTE,
            }));
        }
        let all = std::str::from_utf8(bytes).map_err(|_| {
            malformed(Defect::Encoding {
                field: "note",
                expected: "UTF-8",
            })
        })?;
        let split = all
            .rfind("\n\n")
            .ok_or_else(|| malformed(Defect::Missing("blank line before the signatures")))?;
        let (text, sigs) = (&all[..split + 1], &all[split + 2..]);
        check_text(text)?;
        if !sigs.ends_with('\n') {
            return Err(malformed(Defect::Unterminated("signature block")));
        }
        let mut signatures = Vec::new();
        for line in sigs[..sigs.len() - 1].split('\n') {
            let rest = line.strip_prefix("— ").ok_or_else(|| {
                malformed(Defect::Missing("'— ' at the start of a signature line"))
            })?;
            let (name, b64) = rest
                .split_once(' ')
                .ok_or_else(|| malformed(Defect::Missing("signature after the key name")))?;
            if !is_valid_name(name) {
                return Err(malformed(Defect::Invalid("key name")));
            }
            let blob = B64
                .decode(b64)
                .map_err(|_| malformed(not_base64("signature")))?;
            if blob.len() < 5 {
                return Err(malformed(Defect::Truncated("signature")));
            }
            let id = u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]);
            signatures.push(NoteSignature {
                name: name.to_owned(),
                id,
                signature: blob[4..].to_vec(),
            });
            if signatures.len() > MAX_SIGNATURES {
                return Err(malformed(Defect::TooMany {
                    field: "signatures",
                    max: MAX_SIGNATURES,
                }));
            }
        }
        if signatures.is_empty() {
            return Err(malformed(Defect::Missing("signatures")));
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The signed text, including its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Every signature line.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Verifies against trusted keys; returns the names of the keys that signed.
    pub fn verify(&self, trusted: &[NoteVerifier]) -> Result<Vec<String>, Error> {
        let mut good = Vec::new();
        for sig in &self.signatures {
            let Some(key) = trusted
                .iter()
                .find(|k| k.name == sig.name && k.id == sig.id)
            else {
                continue;
            };
            if !key.verifies(self.text.as_bytes(), &sig.signature) {
                return Err(Error::BadSignature(SignatureFailure::Invalid {
                    key: format!("{}+{:08x}", key.name, key.id),
                }));
            }
            if !good.contains(&key.name) {
                good.push(key.name.clone());
            }
        }
        if good.is_empty() {
            return Err(Error::BadSignature(SignatureFailure::NoTrustedSignature));
        }
        Ok(good)
    }
}
