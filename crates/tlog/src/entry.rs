//! Log entries as canonical JSON (RFC 8785 for the values Cairn logs: objects, arrays,
//! strings, integers, booleans, null).
//!
//! Keys are sorted explicitly, so the encoding does not depend on how `serde_json` was
//! built (its `preserve_order` feature would otherwise change key order).

use serde_json::Value;

/// The canonical bytes of a JSON value.
pub fn canonical(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write(value, &mut out);
    out
}

fn write(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            // RFC 8785 sorts by UTF-16 code units; for the ASCII keys Cairn uses, byte order.
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push(b'{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(&Value::String((*k).clone()), out);
                out.push(b':');
                write(&map[k.as_str()], out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(v, out);
            }
            out.push(b']');
        }
        // Strings, integers, booleans and null: serde_json's compact form is RFC 8785's
        // (minimal escapes, lowercase \u00xx, UTF-8 as is).
        other => out.extend_from_slice(other.to_string().as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_compact_and_escaped() {
        let v: Value =
            serde_json::from_str(r#"{"b": [1, {"z": null, "a": true}], "a": "x\u0001\n\"é"}"#)
                .unwrap();
        assert_eq!(
            String::from_utf8(canonical(&v)).unwrap(),
            "{\"a\":\"x\\u0001\\n\\\"é\",\"b\":[1,{\"a\":true,\"z\":null}]}"
        );
    }
}
