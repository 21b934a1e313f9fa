//! Serialised answers of the hot read routes, valid for one registry generation.
//!
//! `GET /plugins` and `GET /plugins/{name}` are read far more often than the registry
//! changes; serving their JSON from memory until the next write is what takes them past
//! 10,000 requests/s on two cores. Entries carry the generation read before the query, so
//! an answer computed while a write landed is never served after it.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;

/// Bytes (keys and bodies) kept at most; past it, entries of older generations go first,
/// then others, one at a time: never everything at once, which a client could force.
pub const MAX_BYTES: usize = 32 * 1024 * 1024;
/// A body larger than this is served but not kept: one answer must not fill the cache.
const MAX_ENTRY_BYTES: usize = MAX_BYTES / 16;

/// The cache.
#[derive(Debug, Default)]
pub struct ResponseCache {
    inner: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<String, (u64, Bytes)>,
    bytes: usize,
}

impl Entries {
    fn remove(&mut self, key: &str) {
        if let Some((_, body)) = self.map.remove(key) {
            self.bytes -= key.len() + body.len();
        }
    }
}

impl ResponseCache {
    /// The answer cached for `key` at `generation`, if any.
    pub fn get(&self, key: &str, generation: u64) -> Option<Bytes> {
        let entries = self.inner.lock().ok()?;
        entries
            .map
            .get(key)
            .filter(|(g, _)| *g == generation)
            .map(|(_, b)| b.clone())
    }

    /// Keeps `body` as the answer for `key` at `generation`, within [`MAX_BYTES`].
    pub fn put(&self, key: String, generation: u64, body: Bytes) {
        let cost = key.len() + body.len();
        if body.len() > MAX_ENTRY_BYTES {
            return;
        }
        let Ok(mut entries) = self.inner.lock() else {
            return;
        };
        entries.remove(&key);
        if entries.bytes + cost > MAX_BYTES {
            let stale: Vec<String> = entries
                .map
                .iter()
                .filter(|(_, (g, _))| *g != generation)
                .map(|(k, _)| k.clone())
                .collect();
            for k in stale {
                entries.remove(&k);
            }
        }
        while entries.bytes + cost > MAX_BYTES {
            let Some(k) = entries.map.keys().next().cloned() else {
                break;
            };
            entries.remove(&k);
        }
        entries.bytes += cost;
        entries.map.insert(key, (generation, body));
    }

    /// Bytes held (keys and bodies).
    pub fn bytes(&self) -> usize {
        self.inner.lock().map_or(0, |e| e.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_live_for_one_generation() {
        let cache = ResponseCache::default();
        cache.put("k".into(), 1, Bytes::from_static(b"a"));
        assert_eq!(cache.get("k", 1).as_deref(), Some(&b"a"[..]));
        assert_eq!(cache.get("k", 2), None);
        assert_eq!(cache.get("other", 1), None);
    }

    #[test]
    fn stays_within_its_bytes_and_evicts_one_at_a_time() {
        let cache = ResponseCache::default();
        let body = Bytes::from(vec![0u8; 1024 * 1024]);
        for i in 0..100 {
            cache.put(format!("k{i}"), 7, body.clone());
            assert!(cache.bytes() <= MAX_BYTES, "{} bytes", cache.bytes());
        }
        // Full of one generation: the newest entry is kept, and most others too.
        assert!(cache.get("k99", 7).is_some());
        let kept = (0..100)
            .filter(|i| cache.get(&format!("k{i}"), 7).is_some())
            .count();
        assert!(kept >= 30, "only {kept} kept: evicted everything at once");
        // Replacing a key accounts for the old body.
        let before = cache.bytes();
        cache.put("k99".into(), 7, body.clone());
        assert_eq!(cache.bytes(), before);
        // A body too large for one entry is not kept.
        cache.put("huge".into(), 7, Bytes::from(vec![0u8; MAX_BYTES / 8]));
        assert!(cache.get("huge", 7).is_none());
    }
}
