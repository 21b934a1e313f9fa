//! Where each entry lies in a full entry bundle, kept once the bundle was read: a full
//! bundle never changes, so an entry is read again with one ranged read of its own bytes
//! rather than the whole bundle (a search's hits are scattered over the log, one a bundle).
//! Whatever is read this way is still hashed against its leaf in the tree.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Bundles whose offsets are kept (about 1 KiB each: 64 MiB at most, 16 million entries);
/// beyond, the table starts again.
const MAX_BUNDLES: usize = 64 * 1024;

/// The byte ranges of the entries of full bundles, by bundle index.
#[derive(Debug, Default)]
pub(crate) struct BundleOffsets {
    bundles: Mutex<HashMap<u64, Arc<[u32]>>>,
}

impl BundleOffsets {
    /// The offsets of bundle `bundle`, if it was read whole before: entry `k`'s bytes are
    /// `offsets[k] + 2 .. offsets[k + 1]`.
    pub(crate) fn get(&self, bundle: u64) -> Option<Arc<[u32]>> {
        self.bundles.lock().ok()?.get(&bundle).cloned()
    }

    /// Keeps the offsets of full bundle `bundle`, its entries as decoded.
    pub(crate) fn keep(&self, bundle: u64, entries: &[&[u8]]) {
        let mut offsets = Vec::with_capacity(entries.len() + 1);
        let mut at = 0u32;
        for e in entries {
            offsets.push(at);
            at = at.saturating_add(2 + e.len() as u32);
        }
        offsets.push(at);
        if let Ok(mut map) = self.bundles.lock() {
            if map.len() >= MAX_BUNDLES {
                map.clear();
            }
            map.insert(bundle, offsets.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_point_at_each_entry_after_its_length() {
        let kept = BundleOffsets::default();
        let entries: [&[u8]; 3] = [b"ab", b"", b"xyz"];
        kept.keep(7, &entries);
        let offsets = kept.get(7).unwrap();
        assert_eq!(&offsets[..], &[0, 4, 6, 11]);
        let bundle = crate::tile::encode_bundle(entries).unwrap();
        for (k, e) in entries.iter().enumerate() {
            let (start, end) = (offsets[k] as usize + 2, offsets[k + 1] as usize);
            assert_eq!(&bundle[start..end], *e);
        }
        assert!(kept.get(8).is_none());
    }
}
