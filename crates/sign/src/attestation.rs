//! Signed attestations: in-toto link files and DSSE envelopes, checked against the key types
//! securesystemslib (and so in-toto) signs with: RSA-PSS, ECDSA P-256 and P-384, Ed25519.
//!
//! The formats themselves (securesystemslib's canonical JSON, in-toto key ids, DSSE's
//! pre-authentication encoding) live here so that checking a file offline never links the
//! registry. A registry logs the [`Attestation`] commitment (document digest, subject and
//! material digests, signer key ids) and stores the document beside it: a log entry holds at
//! most 65,535 bytes.
//!
//! The keys and their verification rules are in `keys.rs`, the byte formats and the digests
//! a document names in `formats.rs`.

mod formats;
mod keys;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

pub use formats::olpc_canonical;
pub use keys::{AttestationKeys, in_toto_keyid};

use crate::verify::TrustedKeys;
use formats::{Digests, link_digests, pae, statement_digests};
use keys::AttestationKey;

/// Why an attestation was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// Largest attestation document accepted.
pub const MAX_ATTESTATION_BYTES: usize = 1024 * 1024;

/// Most signatures a document may carry: in-toto documents carry one or a few, and every
/// DSSE signature is tried against every key, so the bound bounds the work too.
const MAX_SIGNATURES: usize = 64;

/// A checked attestation: what the log records about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Attestation {
    /// Always `attestation`.
    pub kind: &'static str,
    /// `in-toto-link` or `dsse`.
    pub format: &'static str,
    /// SHA-256 of the document bytes, hex.
    pub digest: String,
    /// SHA-256 digests the document speaks about (link products, statement subjects).
    pub subjects: Vec<String>,
    /// SHA-256 digests of what the step consumed (link materials, a statement predicate's
    /// materials), in document order, each once.
    pub materials: Vec<String>,
    /// Key ids (hex SHA-256 of SPKI DER) whose signatures verified.
    pub signers: Vec<String>,
}

fn bad(why: impl Into<String>) -> Refused {
    Refused(why.into())
}

/// Checks a document's signatures against every key of `keys` (see [`check_with`]).
pub fn check(doc: &[u8], keys: &TrustedKeys) -> Result<Attestation, Refused> {
    let mut attestation_keys = AttestationKeys::new();
    for key in keys.keys() {
        attestation_keys.add_key(key);
    }
    check_with(doc, &attestation_keys)
}

/// Checks a document against the keys.
///
/// An in-toto link's signatures are matched to keys by in-toto keyid; a DSSE signature is
/// tried against every key (its keyid is only a hint). A signature by a configured key that
/// does not verify refuses the document; signatures by other keys are ignored; at least one
/// configured key must have signed.
pub fn check_with(doc: &[u8], keys: &AttestationKeys) -> Result<Attestation, Refused> {
    if doc.len() > MAX_ATTESTATION_BYTES {
        return Err(bad(format!(
            "document exceeds {MAX_ATTESTATION_BYTES} bytes"
        )));
    }
    let value: Value = serde_json::from_slice(doc).map_err(|e| bad(format!("not JSON: {e}")))?;
    let digest = hex::encode(Sha256::digest(doc));
    let (format, digests, signers) = if value.get("signed").is_some() {
        let (digests, signers) = check_link(&value, doc, keys)?;
        ("in-toto-link", digests, signers)
    } else if value.get("payloadType").is_some() {
        let (digests, signers) = check_dsse(&value, keys)?;
        ("dsse", digests, signers)
    } else {
        return Err(bad(
            "neither an in-toto link (signed/signatures) nor a DSSE envelope",
        ));
    };
    Ok(Attestation {
        kind: "attestation",
        format,
        digest,
        subjects: digests.subjects,
        materials: digests.materials,
        signers,
    })
}

/// What one signature of a document comes to.
enum Outcome<'k> {
    /// No configured key made it: ignored.
    Unknown,
    /// This key made it.
    By(&'k AttestationKey),
    /// It names a configured key but does not verify: the document is refused, for this.
    Bad(String),
}

/// The signature rule: any bad signature refuses the document; at least one configured key
/// must have signed. The signers are the keys' Cairn ids, each once.
fn signers(outcomes: Vec<Outcome<'_>>, keys: &AttestationKeys) -> Result<Vec<String>, Refused> {
    let mut signers: Vec<String> = Vec::new();
    for outcome in outcomes {
        match outcome {
            Outcome::Unknown => {}
            Outcome::By(k) if !signers.contains(&k.id) => signers.push(k.id.clone()),
            Outcome::By(_) => {}
            Outcome::Bad(why) => return Err(bad(why)),
        }
    }
    if signers.is_empty() {
        return Err(bad(if keys.is_empty() {
            "no signature by a configured key (no attestation keys are configured)"
        } else {
            "no signature by a configured key"
        }));
    }
    Ok(signers)
}

fn signature_list<'v>(v: &'v Value, what: &str) -> Result<&'v Vec<Value>, Refused> {
    let sigs = v["signatures"]
        .as_array()
        .ok_or_else(|| bad(format!("{what} without signatures")))?;
    if sigs.len() > MAX_SIGNATURES {
        return Err(bad(format!(
            "{what} with {} signatures (at most {MAX_SIGNATURES})",
            sigs.len()
        )));
    }
    Ok(sigs)
}

fn check_link(
    v: &Value,
    raw: &[u8],
    keys: &AttestationKeys,
) -> Result<(Digests, Vec<String>), Refused> {
    let mut message = Vec::new();
    olpc_canonical(&v["signed"], &mut message)?;
    let mut outcomes = Vec::new();
    for s in signature_list(v, "link")? {
        let keyid = s["keyid"]
            .as_str()
            .ok_or_else(|| bad("signature without keyid"))?;
        let sig = hex::decode(
            s["sig"]
                .as_str()
                .ok_or_else(|| bad("signature without sig"))?,
        )
        .map_err(|_| bad("sig is not hex"))?;
        let mut named = keys
            .iter()
            .filter(|k| k.keyid.as_deref() == Some(keyid))
            .peekable();
        outcomes.push(if named.peek().is_none() {
            Outcome::Unknown
        } else if let Some(k) = named.find(|k| k.verify(&message, &sig)) {
            Outcome::By(k)
        } else {
            Outcome::Bad(format!(
                "the signature by configured key {keyid} does not verify"
            ))
        });
    }
    let signers = signers(outcomes, keys)?;
    Ok((link_digests(&v["signed"], raw, true), signers))
}

fn check_dsse(v: &Value, keys: &AttestationKeys) -> Result<(Digests, Vec<String>), Refused> {
    let payload_type = v["payloadType"]
        .as_str()
        .ok_or_else(|| bad("payloadType is not a string"))?;
    let payload = B64
        .decode(
            v["payload"]
                .as_str()
                .ok_or_else(|| bad("payload missing"))?,
        )
        .map_err(|_| bad("payload is not base64"))?;
    let message = pae(payload_type, &payload);
    let mut outcomes = Vec::new();
    for s in signature_list(v, "envelope")? {
        let sig = B64
            .decode(
                s["sig"]
                    .as_str()
                    .ok_or_else(|| bad("signature without sig"))?,
            )
            .map_err(|_| bad("sig is not base64"))?;
        // keyid is only a hint in DSSE: every key is tried. A signature none verifies is
        // ignored, unless its hint names a configured key (by in-toto keyid or Cairn id).
        let hint = s["keyid"].as_str().unwrap_or_default();
        outcomes.push(match keys.iter().find(|k| k.verify(&message, &sig)) {
            Some(k) => Outcome::By(k),
            None if !hint.is_empty()
                && keys
                    .iter()
                    .any(|k| k.id == hint || k.keyid.as_deref() == Some(hint)) =>
            {
                Outcome::Bad(format!(
                    "the signature with keyid {hint} names a configured key but does not verify"
                ))
            }
            None => Outcome::Unknown,
        });
    }
    let signers = signers(outcomes, keys)?;
    let mut digests = Digests::default();
    if payload_type == "application/vnd.in-toto+json" {
        if let Ok(statement) = serde_json::from_slice::<Value>(&payload) {
            // in-toto-run --use-dsse wraps the link itself; attestation tools wrap statements.
            digests = if statement["_type"] == "link" {
                link_digests(&statement, &payload, false)
            } else {
                statement_digests(&statement)
            };
        }
    }
    Ok((digests, signers))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/../../tests/fixtures/in-toto/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(path).unwrap()
    }

    /// The fixture's README: the signed canonical form of its `signed` object is 548 bytes.
    #[test]
    fn canonical_form_of_the_fixture_link() {
        let v: Value = serde_json::from_slice(&fixture("package.1c656f99.link")).unwrap();
        let mut out = Vec::new();
        olpc_canonical(&v["signed"], &mut out).unwrap();
        assert_eq!(out.len(), 548);
        let mut escaped = Vec::new();
        olpc_canonical(
            &serde_json::json!({"b": "q\"\\\n", "a": [1, -2, true, null]}),
            &mut escaped,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(escaped).unwrap(),
            "{\"a\":[1,-2,true,null],\"b\":\"q\\\"\\\\\n\"}"
        );
        assert!(olpc_canonical(&serde_json::json!(1.5), &mut Vec::new()).is_err());
    }

    fn fixture_keys() -> (AttestationKeys, String) {
        let text = String::from_utf8(fixture("signer.pub.pem")).unwrap();
        let mut keys = AttestationKeys::new();
        let added = keys.add_pem(&text, "fixture").unwrap();
        let id = added[0].as_ref().unwrap().id();
        (keys, id)
    }

    #[test]
    fn the_fixture_link_verifies_with_its_materials() {
        let (keys, id) = fixture_keys();
        let doc = fixture("package.1c656f99.link");
        let att = check_with(&doc, &keys).unwrap();
        assert_eq!(att.format, "in-toto-link");
        assert_eq!(att.signers, [id]);
        assert_eq!(
            att.subjects,
            ["bb7b0f66816f3b03f37459f3bd6a41a444d425fa4c170d13c55d393a1a9a241c"]
        );
        assert_eq!(
            att.materials,
            [
                "0955a8767e80cb2d29f2ce12ed50ac1ebf37612fc8d93ffd734029da7ba23be1",
                "ff16fcd1c796f0e736dda5f2a894e863c87b6d3a443ea6485c68f7941dd0862a"
            ]
        );
        let mut trusted = TrustedKeys::default();
        trusted
            .add_pem(&String::from_utf8(fixture("signer.pub.pem")).unwrap(), "f")
            .unwrap();
        assert_eq!(check(&doc, &trusted).unwrap(), att);
    }

    #[test]
    fn refusals_say_what_failed() {
        let (keys, _) = fixture_keys();
        let doc = String::from_utf8(fixture("package.1c656f99.link")).unwrap();
        let tampered = doc.replace("\"sig\": \"e3", "\"sig\": \"e4");
        let e = check_with(tampered.as_bytes(), &keys).unwrap_err().0;
        assert!(
            e.contains("configured key 1c656f99") && e.contains("does not verify"),
            "{e}"
        );
        let e = check_with(doc.as_bytes(), &AttestationKeys::new())
            .unwrap_err()
            .0;
        assert!(e.starts_with("no signature by a configured key"), "{e}");
        let unknown = doc.replace("\"keyid\": \"1c", "\"keyid\": \"2c");
        let e = check_with(unknown.as_bytes(), &keys).unwrap_err().0;
        assert_eq!(e, "no signature by a configured key");
        let mut many: Value = serde_json::from_str(&doc).unwrap();
        let one = many["signatures"][0].clone();
        many["signatures"] = Value::Array(vec![one; MAX_SIGNATURES + 1]);
        let e = check_with(&serde_json::to_vec(&many).unwrap(), &keys)
            .unwrap_err()
            .0;
        assert!(e.contains("at most 64"), "{e}");
        for (doc, why) in [
            (&b"[]"[..], "neither"),
            (b"{", "not JSON"),
            (
                br#"{"payloadType": "x", "payload": "!", "signatures": []}"#,
                "base64",
            ),
            (
                br#"{"signed": {}, "signatures": [{"keyid": "a", "sig": "z"}]}"#,
                "hex",
            ),
            (br#"{"signed": {"n": 1.5}, "signatures": []}"#, "floating"),
        ] {
            let e = check_with(doc, &keys).unwrap_err().0;
            assert!(e.contains(why), "{e}");
        }
    }
}
