//! Signed attestations: in-toto link files and DSSE envelopes, checked against Ed25519 keys.
//!
//! The formats themselves (securesystemslib's canonical JSON, in-toto key ids, DSSE's
//! pre-authentication encoding) live here so that checking a file offline never links the
//! registry. A registry logs the [`Attestation`] commitment (document digest, subject digests,
//! signer key ids) and stores the document beside it: a log entry holds at most 65,535 bytes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::keys::{PublicKey, Signed};
use crate::verify::TrustedKeys;

/// Why an attestation was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// Largest attestation document accepted.
pub const MAX_ATTESTATION_BYTES: usize = 1024 * 1024;

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
    /// Key ids (hex SHA-256 of SPKI DER) whose signatures verified.
    pub signers: Vec<String>,
}

fn bad(why: impl Into<String>) -> Refused {
    Refused(why.into())
}

/// Checks a document's signatures against the configured Ed25519 keys.
pub fn check(doc: &[u8], keys: &TrustedKeys) -> Result<Attestation, Refused> {
    if doc.len() > MAX_ATTESTATION_BYTES {
        return Err(bad(format!(
            "document exceeds {MAX_ATTESTATION_BYTES} bytes"
        )));
    }
    let value: Value = serde_json::from_slice(doc).map_err(|e| bad(format!("not JSON: {e}")))?;
    let digest = hex::encode(Sha256::digest(doc));
    let ed25519: Vec<&PublicKey> = keys.ed25519_keys().collect();
    let (format, subjects, signers) = if value.get("signed").is_some() {
        let (subjects, signers) = check_link(&value, &ed25519)?;
        ("in-toto-link", subjects, signers)
    } else if value.get("payloadType").is_some() {
        let (subjects, signers) = check_dsse(&value, &ed25519)?;
        ("dsse", subjects, signers)
    } else {
        return Err(bad(
            "neither an in-toto link (signed/signatures) nor a DSSE envelope",
        ));
    };
    Ok(Attestation {
        kind: "attestation",
        format,
        digest,
        subjects,
        signers,
    })
}

/// securesystemslib's `encode_canonical` (OLPC canonical JSON): sorted keys, no whitespace,
/// only `"` and `\` escaped, integers only.
pub fn olpc_canonical(v: &Value, out: &mut Vec<u8>) -> Result<(), Refused> {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                olpc_string(k, out);
                out.push(b':');
                olpc_canonical(&map[k.as_str()], out)?;
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                olpc_canonical(item, out)?;
            }
            out.push(b']');
        }
        Value::String(s) => olpc_string(s, out),
        Value::Number(n) if n.is_i64() || n.is_u64() => {
            out.extend_from_slice(n.to_string().as_bytes())
        }
        Value::Number(_) => return Err(bad("canonical JSON has no floating-point numbers")),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Null => out.extend_from_slice(b"null"),
    }
    Ok(())
}

fn olpc_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push(b'\\');
        }
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
    out.push(b'"');
}

/// in-toto's key id of an Ed25519 key: SHA-256 of its canonical key object (`None` for
/// other algorithms, which in-toto names differently).
pub fn in_toto_keyid(key: &PublicKey) -> Option<String> {
    let PublicKey::Ed25519(raw) = key else {
        return None;
    };
    let object = serde_json::json!({"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": hex::encode(raw.to_bytes())}});
    let mut bytes = Vec::new();
    // A fixed object of strings: canonicalisation cannot fail.
    let _ = olpc_canonical(&object, &mut bytes);
    Some(hex::encode(Sha256::digest(bytes)))
}

/// Verifies signatures: a known key with a bad signature refuses the document; at least one
/// known key must have signed.
fn verify_all<'k>(
    sigs: impl Iterator<Item = (Vec<&'k PublicKey>, Vec<u8>)>,
    message: &[u8],
) -> Result<Vec<String>, Refused> {
    let signed = Signed::bytes(message);
    let mut signers = Vec::new();
    for (candidates, sig) in sigs {
        if candidates.is_empty() {
            continue;
        }
        match candidates.iter().find(|k| k.verify(&signed, &sig)) {
            Some(k) if !signers.contains(&k.id()) => signers.push(k.id()),
            Some(_) => {}
            None => return Err(bad("a signature by a configured key does not verify")),
        }
    }
    if signers.is_empty() {
        return Err(bad("no signature by a configured Ed25519 key"));
    }
    Ok(signers)
}

fn check_link(v: &Value, keys: &[&PublicKey]) -> Result<(Vec<String>, Vec<String>), Refused> {
    let mut message = Vec::new();
    olpc_canonical(&v["signed"], &mut message)?;
    let sigs = v["signatures"]
        .as_array()
        .ok_or_else(|| bad("link without signatures"))?;
    let mut parsed = Vec::new();
    for s in sigs {
        let keyid = s["keyid"]
            .as_str()
            .ok_or_else(|| bad("signature without keyid"))?;
        let sig = hex::decode(
            s["sig"]
                .as_str()
                .ok_or_else(|| bad("signature without sig"))?,
        )
        .map_err(|_| bad("sig is not hex"))?;
        let candidates: Vec<&PublicKey> = keys
            .iter()
            .copied()
            .filter(|k| in_toto_keyid(k).as_deref() == Some(keyid))
            .collect();
        parsed.push((candidates, sig));
    }
    let signers = verify_all(parsed.into_iter(), &message)?;
    let subjects = v["signed"]["products"]
        .as_object()
        .map(|p| {
            p.values()
                .filter_map(|d| d["sha256"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Ok((subjects, signers))
}

/// DSSE pre-authentication encoding.
fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

fn check_dsse(v: &Value, keys: &[&PublicKey]) -> Result<(Vec<String>, Vec<String>), Refused> {
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
    let signed = Signed::bytes(&message);
    let sigs = v["signatures"]
        .as_array()
        .ok_or_else(|| bad("envelope without signatures"))?;
    let mut parsed = Vec::new();
    for s in sigs {
        let sig = B64
            .decode(
                s["sig"]
                    .as_str()
                    .ok_or_else(|| bad("signature without sig"))?,
            )
            .map_err(|_| bad("sig is not base64"))?;
        // keyid is only a hint in DSSE: try every configured key.
        let candidates: Vec<&PublicKey> = keys
            .iter()
            .copied()
            .filter(|k| k.verify(&signed, &sig))
            .collect();
        let candidates = if candidates.is_empty()
            && s["keyid"]
                .as_str()
                .is_some_and(|id| keys.iter().any(|k| k.id() == id))
        {
            return Err(bad("a signature by a configured key does not verify"));
        } else {
            candidates
        };
        parsed.push((candidates, sig));
    }
    let signers = verify_all(parsed.into_iter(), &message)?;
    let mut subjects = Vec::new();
    if payload_type == "application/vnd.in-toto+json" {
        if let Ok(statement) = serde_json::from_slice::<Value>(&payload) {
            for s in statement["subject"].as_array().into_iter().flatten() {
                if let Some(d) = s["digest"]["sha256"].as_str() {
                    subjects.push(d.to_owned());
                }
            }
        }
    }
    Ok((subjects, signers))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixture's README: the signed canonical form of its `signed` object is 548 bytes.
    #[test]
    fn canonical_form_of_the_fixture_link() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/in-toto/package.1c656f99.link"
        );
        let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
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
}
