//! How values read on a page: times in UTC, hashes in base64 as the log's own formats
//! write them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::NaiveDateTime;

/// A UTC time to the second.
pub fn time(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A hash in standard base64 (how checkpoints and tlog-proof files write hashes).
pub fn b64(hash: &[u8]) -> String {
    B64.encode(hash)
}

/// `s` percent-encoded as one path segment (host names are plain already; this keeps a
/// link right whatever they hold).
pub fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
