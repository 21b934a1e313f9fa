//! The repository's memflow plugin fixtures (`tests/fixtures/memflow-plugins`), and
//! variants of them made to order.

use std::path::PathBuf;

/// The description every synthc fixture carries.
const DESCRIPTION: &[u8] = b"synthetic connector fixture for registry parser tests";

/// The memflow plugin fixtures' directory.
pub fn plugin_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/memflow-plugins")
}

/// The bytes of the plugin fixture `name`.
pub fn plugin(name: &str) -> Vec<u8> {
    std::fs::read(plugin_dir().join(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// The x86_64 synthc fixture with its 6-byte plugin name replaced by `name` and its
/// description by `description` (padded with spaces to the same length): still a valid
/// plugin, with a digest of its own.
pub fn patched_plugin(name: &[u8; 6], description: &str) -> Vec<u8> {
    let mut bytes = plugin("libmemflow_synthc.x86_64.so");
    let find = |b: &[u8], needle: &[u8]| {
        b.windows(needle.len())
            .position(|w| w == needle)
            .expect("fixture string")
    };
    let at = find(&bytes, b"synthc");
    bytes[at..at + 6].copy_from_slice(name);
    let mut text = description.as_bytes().to_vec();
    assert!(text.len() <= DESCRIPTION.len(), "description too long");
    text.resize(DESCRIPTION.len(), b' ');
    let at = find(&bytes, DESCRIPTION);
    bytes[at..at + DESCRIPTION.len()].copy_from_slice(&text);
    bytes
}
