//! C2SP tlog-cosignature (`cosignature/v1`, Ed25519): a witness's statement that a
//! checkpoint is consistent with every checkpoint of that log it cosigned before.
//!
//! A cosignature is a signed-note signature line by a key of type 0x04 (key id
//! `SHA-256(name ‖ 0x0A ‖ 0x04 ‖ pk)[:4]`) whose blob is the key id, an 8-byte big-endian
//! timestamp and the Ed25519 signature over `cosignature/v1\ntime <t>\n` followed by the
//! checkpoint body. Being a signature line, it travels inside the checkpoint note, and a
//! verifier that does not know the witness ignores it.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use cairn_secmem::{Enclave, LockedBuffer};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};

use crate::error::{Defect, Error, SignatureFailure};
use crate::note::{Note, NoteSignature, is_valid_name, parse_typed_key, typed_key_id, with_key};

/// Signature type byte of cosignature/v1 keys.
pub const ALG_COSIGNATURE: u8 = 0x04;

/// The bytes a cosignature signs: the header lines, then the checkpoint body.
pub fn message(timestamp: u64, checkpoint_text: &str) -> Vec<u8> {
    let mut m = format!("cosignature/v1\ntime {timestamp}\n").into_bytes();
    m.extend_from_slice(checkpoint_text.as_bytes());
    m
}

/// A witness's public key: `<name>+<8 hex id>+<base64(0x04 ‖ 32-byte key)>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl CosignatureVerifier {
    /// Parses a witness verifier key, checking its type (0x04) and id.
    pub fn parse(vkey: &str) -> Result<Self, Error> {
        let (name, id, key) = parse_typed_key(vkey.trim(), ALG_COSIGNATURE, "witness key")?;
        Ok(CosignatureVerifier { name, id, key })
    }

    /// The witness's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Whether `sig` is this witness's line, whatever it holds.
    pub fn is_signer_of(&self, sig: &NoteSignature) -> bool {
        sig.name == self.name && sig.id == self.id
    }

    /// The timestamp of `sig` (a line of this witness) when it cosigns `checkpoint_text`.
    pub fn verify(&self, checkpoint_text: &str, sig: &NoteSignature) -> Option<u64> {
        if !self.is_signer_of(sig) || sig.signature.len() != 8 + 64 {
            return None;
        }
        let (time, signature) = sig.signature.split_at(8);
        let time = u64::from_be_bytes(time.try_into().ok()?);
        let signature = ed25519_dalek::Signature::from_slice(signature).ok()?;
        self.key
            .verify_strict(&message(time, checkpoint_text), &signature)
            .ok()
            .map(|()| time)
    }
}

impl fmt::Display for CosignatureVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut data = vec![ALG_COSIGNATURE];
        data.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.id, B64.encode(data))
    }
}

/// A witness's private key, sealed in a `cairn-secmem` enclave and opened into guarded
/// memory only for one signature. Its `Debug` form never shows the key.
pub struct Cosigner {
    name: String,
    seed: Enclave,
    public: VerifyingKey,
}

impl fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cosigner({}+{:08x})", self.name, self.verifier().id)
    }
}

impl Cosigner {
    /// A cosigner named `name` from a 32-byte Ed25519 seed in guarded memory (sealed).
    pub fn from_secret(name: &str, seed: LockedBuffer) -> Result<Self, Error> {
        if !is_valid_name(name) {
            return Err(Error::Malformed {
                what: "witness name",
                defect: Defect::BadName(name.to_owned()),
            });
        }
        let public = with_key(&seed, SigningKey::verifying_key)?;
        Ok(Cosigner {
            name: name.to_owned(),
            seed: seed.seal()?,
            public,
        })
    }

    /// The matching verifier key.
    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier {
            name: self.name.clone(),
            id: typed_key_id(&self.name, ALG_COSIGNATURE, self.public.as_bytes()),
            key: self.public,
        }
    }

    /// The signature line (`— <name> <base64>\n`) cosigning `checkpoint_text` at
    /// `timestamp` (seconds since the epoch).
    pub fn cosign(&self, checkpoint_text: &str, timestamp: u64) -> Result<String, Error> {
        let seed = self.seed.open()?;
        let sig = with_key(&seed, |key| key.sign(&message(timestamp, checkpoint_text)))?;
        drop(seed);
        let mut blob = self.verifier().id.to_be_bytes().to_vec();
        blob.extend_from_slice(&timestamp.to_be_bytes());
        blob.extend_from_slice(&sig.to_bytes());
        Ok(format!("— {} {}\n", self.name, B64.encode(blob)))
    }
}

/// The trusted witnesses whose cosignatures on `note` verify, each once. A trusted
/// witness's line that does not verify is an error, as for any known key of a note.
pub fn cosigned_by(note: &Note, witnesses: &[CosignatureVerifier]) -> Result<Vec<String>, Error> {
    let mut good: Vec<String> = Vec::new();
    for sig in note.signatures() {
        let Some(w) = witnesses.iter().find(|w| w.is_signer_of(sig)) else {
            continue;
        };
        if w.verify(note.text(), sig).is_none() {
            return Err(Error::BadSignature(SignatureFailure::Invalid {
                key: format!("{}+{:08x}", w.name, w.id),
            }));
        }
        if !good.contains(&w.name) {
            good.push(w.name.clone());
        }
    }
    Ok(good)
}

/// Checks that at least `threshold` of `witnesses` cosigned `note`; returns who did.
pub fn require_quorum(
    note: &Note,
    witnesses: &[CosignatureVerifier],
    threshold: usize,
) -> Result<Vec<String>, Error> {
    let by = cosigned_by(note, witnesses)?;
    if by.len() < threshold {
        return Err(Error::BadSignature(SignatureFailure::Quorum {
            need: threshold,
            got: by.len(),
            by: if by.is_empty() {
                "none".into()
            } else {
                by.join(", ")
            },
        }));
    }
    Ok(by)
}

/// `signed` (a signed note) with the signature `lines` added after its own, each key's
/// line once: how a log serves its checkpoint with the witnesses' cosignatures.
pub fn add_lines(signed: &str, lines: &[String]) -> Result<String, Error> {
    let note = Note::parse(signed.as_bytes())?;
    let mut out = signed.to_owned();
    let mut have: Vec<(String, u32)> = note
        .signatures()
        .iter()
        .map(|s| (s.name.clone(), s.id))
        .collect();
    for line in lines {
        let parsed = Note::parse(format!("x\n\n{line}").as_bytes())?;
        let [sig] = parsed.signatures() else {
            return Err(Error::Malformed {
                what: "cosignature",
                defect: Defect::Invalid("one signature line"),
            });
        };
        if have.iter().any(|(n, i)| *n == sig.name && *i == sig.id) {
            continue;
        }
        have.push((sig.name.clone(), sig.id));
        out.push_str(line.trim_end_matches('\n'));
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoteSigner;

    fn witness(name: &str, seed: u8) -> Cosigner {
        let mut buf = LockedBuffer::new(32).unwrap();
        buf.copy_from(&[seed; 32]).unwrap();
        Cosigner::from_secret(name, buf).unwrap()
    }

    #[test]
    fn cosignatures_verify_count_once_and_travel_in_the_note() {
        let log = NoteSigner::from_seed("example.org/log", &[1; 32]).unwrap();
        let text = "example.org/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let signed = log.sign(text).unwrap();
        let (a, b, c) = (witness("w/a", 2), witness("w/b", 3), witness("w/c", 4));
        let la = a.cosign(text, 1_700_000_000).unwrap();
        let lb = b.cosign(text, 1_700_000_001).unwrap();
        let all = add_lines(&signed, &[la.clone(), lb, la.clone()]).unwrap();
        assert_eq!(all.matches("— w/a ").count(), 1);
        let note = Note::parse(all.as_bytes()).unwrap();
        // The log's own signature still verifies; unknown witnesses are ignored.
        note.verify(&[log.verifier()]).unwrap();
        let keys = [a.verifier(), b.verifier(), c.verifier()];
        assert_eq!(cosigned_by(&note, &keys).unwrap(), ["w/a", "w/b"]);
        require_quorum(&note, &keys, 2).unwrap();
        let err = require_quorum(&note, &keys, 3).unwrap_err().to_string();
        assert!(err.contains("2 of the 3"), "{err}");
        // Keys round-trip; a note key (type 0x01) is not a witness key.
        let v = CosignatureVerifier::parse(&a.verifier().to_string()).unwrap();
        assert_eq!(v, a.verifier());
        assert!(CosignatureVerifier::parse(&log.verifier().to_string()).is_err());
        // A cosignature over another checkpoint is refused, not ignored.
        let other = "example.org/log\n4\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let forged = add_lines(&log.sign(other).unwrap(), &[la]).unwrap();
        let note = Note::parse(forged.as_bytes()).unwrap();
        assert!(cosigned_by(&note, &keys).is_err());
    }
}
