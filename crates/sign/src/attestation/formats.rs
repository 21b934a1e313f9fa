//! The byte formats signatures cover (securesystemslib's canonical JSON, DSSE's
//! pre-authentication encoding) and the digests a document speaks about: link products and
//! materials, statement subjects and materials.

use std::fmt;

use serde::Deserialize;
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::{Refused, bad};

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

/// DSSE pre-authentication encoding.
pub(super) fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
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

/// The digests a document speaks about.
#[derive(Debug, Default)]
pub(super) struct Digests {
    /// Link products, statement subjects.
    pub subjects: Vec<String>,
    /// What a step consumed: link materials, a statement predicate's materials.
    pub materials: Vec<String>,
}

/// A link's digests. `link` is the `signed` object (or a DSSE payload that is a link);
/// `raw` the bytes it was parsed from, `nested` whether it sits under a `signed` key there.
pub(super) fn link_digests(link: &Value, raw: &[u8], nested: bool) -> Digests {
    // Products keep the order they always had (the map's), so that a document logged
    // before gives the same subjects when it is checked again.
    let subjects = link["products"]
        .as_object()
        .map(|p| {
            p.values()
                .filter_map(|d| d["sha256"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut materials = Vec::new();
    if let Some(map) = link["materials"].as_object() {
        let order = if nested {
            serde_json::from_slice::<Outer>(raw)
                .ok()
                .map(|o| o.signed.materials.0)
        } else {
            serde_json::from_slice::<Inner>(raw)
                .ok()
                .map(|i| i.materials.0)
        };
        // Without a readable key order (duplicate keys, say) the map's sorted order stands.
        let names = order.unwrap_or_else(|| map.keys().cloned().collect());
        for name in names {
            // The digest is read from the parsed value, the one the signature covers: with
            // duplicate keys that is the last one, whatever the raw order says.
            if let Some(d) = map.get(&name).and_then(|m| m["sha256"].as_str()) {
                push_once(&mut materials, d);
            }
        }
    }
    Digests {
        subjects,
        materials,
    }
}

/// A statement's digests: its subjects, and the materials of a link predicate or a SLSA
/// provenance (v0.2 `materials`, v1 `buildDefinition.resolvedDependencies`).
pub(super) fn statement_digests(statement: &Value) -> Digests {
    let sha256 = |items: &Value| -> Vec<String> {
        items
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["digest"]["sha256"].as_str().map(str::to_owned))
            .collect()
    };
    let subjects = sha256(&statement["subject"]);
    let predicate = &statement["predicate"];
    let mut materials = Vec::new();
    for d in sha256(&predicate["materials"]).into_iter().chain(sha256(
        &predicate["buildDefinition"]["resolvedDependencies"],
    )) {
        push_once(&mut materials, &d);
    }
    Digests {
        subjects,
        materials,
    }
}

fn push_once(list: &mut Vec<String>, digest: &str) {
    if !list.iter().any(|d| d == digest) {
        list.push(digest.to_owned());
    }
}

/// `{"signed": {"materials": {..}}}`, for the materials' key order only.
#[derive(Deserialize)]
struct Outer {
    signed: Inner,
}

/// `{"materials": {..}}`, for the materials' key order only.
#[derive(Deserialize)]
struct Inner {
    materials: KeyOrder,
}

/// An object's keys in document order (`serde_json::Map` sorts them).
struct KeyOrder(Vec<String>);

impl<'de> Deserialize<'de> for KeyOrder {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> Visitor<'de> for Keys {
            type Value = KeyOrder;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KeyOrder, A::Error> {
                let mut keys = Vec::new();
                while let Some((k, IgnoredAny)) = map.next_entry::<String, IgnoredAny>()? {
                    keys.push(k);
                }
                Ok(KeyOrder(keys))
            }
        }
        d.deserialize_map(Keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn materials_keep_document_order_and_drop_repeats() {
        let raw = br#"{"signed": {"materials": {
            "z": {"sha256": "11"}, "a": {"sha256": "22"}, "m": {"sha256": "11"}, "n": {}
        }, "products": {"p": {"sha256": "33"}}}}"#;
        let v: Value = serde_json::from_slice(raw).unwrap();
        let d = link_digests(&v["signed"], raw, true);
        assert_eq!(d.materials, ["11", "22"]);
        assert_eq!(d.subjects, ["33"]);
        let payload = serde_json::to_vec(&v["signed"]).unwrap();
        let d = link_digests(&v["signed"], &payload, false);
        assert_eq!(d.materials, ["22", "11"], "serde_json's sorted output");
    }

    /// With a repeated key, the signed (parsed) value decides the digest.
    #[test]
    fn duplicate_material_keys_take_the_signed_value() {
        let raw = br#"{"signed": {"materials": {"a": {"sha256": "11"}, "a": {"sha256": "22"}}}}"#;
        let v: Value = serde_json::from_slice(raw).unwrap();
        assert_eq!(link_digests(&v["signed"], raw, true).materials, ["22"]);
    }

    #[test]
    fn statement_subjects_and_predicate_materials() {
        let v = serde_json::json!({
            "subject": [{"digest": {"sha256": "aa"}}, {"digest": {"sha512": "bb"}}],
            "predicate": {
                "materials": [{"digest": {"sha256": "cc"}}],
                "buildDefinition": {"resolvedDependencies": [
                    {"digest": {"sha256": "dd"}}, {"digest": {"sha256": "cc"}}
                ]}
            }
        });
        let d = statement_digests(&v);
        assert_eq!(d.subjects, ["aa"]);
        assert_eq!(d.materials, ["cc", "dd"]);
        assert!(statement_digests(&Value::Null).subjects.is_empty());
    }

    #[test]
    fn pae_is_dssev1() {
        assert_eq!(pae("t/x", b"ab"), b"DSSEv1 3 t/x 2 ab");
    }
}
