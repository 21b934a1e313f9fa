//! [`Listings`]: the upstream's listing answers (`/plugins`, `/plugins/{name}?…`), kept for
//! a short time and served past it, marked stale, while the upstream is unreachable.
//!
//! A listing only says where to look: the artifacts it names are verified when fetched,
//! and clients prove them again. So listings are passed on as the upstream wrote them
//! (memflow clients parse them), as long as they are JSON.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use sha2::Digest as _;

use crate::config::MAX_ANSWER_BYTES;
use crate::error::Error;
use crate::metrics::MirrorMetrics;
use crate::store::write_atomically;
use crate::upstream::Upstream;

/// A listing as served by the mirror.
#[derive(Clone, Debug)]
pub struct Listing {
    /// The upstream's JSON answer.
    pub body: Arc<[u8]>,
    /// How long ago the upstream gave it.
    pub age: Duration,
    /// Whether it is past its time (the upstream could not be asked).
    pub stale: bool,
}

#[derive(Clone, Debug)]
struct Cached {
    body: Arc<[u8]>,
    fetched: SystemTime,
}

/// Most listings the cache keeps: the keys are whatever queries clients make up, so without
/// a bound anyone could fill the mirror's memory and disk.
pub const MAX_LISTINGS: usize = 4096;

/// Most bytes of listing bodies the cache keeps in memory (and, per process, on disk).
pub const MAX_LISTING_BYTES: usize = 64 << 20;

/// The listing cache: in memory, and on disk under `<dir>/listings` so a restarted mirror
/// still answers with the upstream down. Past [`MAX_LISTINGS`] or [`MAX_LISTING_BYTES`],
/// the oldest listings are dropped (from memory and disk) first.
#[derive(Debug)]
pub struct Listings {
    dir: PathBuf,
    ttl: Duration,
    mem: RwLock<Held>,
    limits: (usize, usize),
}

/// The listings in memory and the bytes of their bodies.
#[derive(Debug, Default)]
struct Held {
    map: HashMap<String, Cached>,
    bytes: usize,
}

impl Held {
    fn insert(&mut self, key: String, c: Cached) {
        self.bytes += c.body.len();
        if let Some(old) = self.map.insert(key, c) {
            self.bytes -= old.body.len();
        }
    }

    fn remove(&mut self, key: &str) {
        if let Some(old) = self.map.remove(key) {
            self.bytes -= old.body.len();
        }
    }

    /// Drops the oldest listings until both limits hold; returns their keys.
    fn shrink(&mut self, (count, bytes): (usize, usize)) -> Vec<String> {
        let mut dropped = Vec::new();
        while self.map.len() > count || self.bytes > bytes {
            let Some(oldest) = self
                .map
                .iter()
                .min_by_key(|(_, c)| c.fetched)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            self.remove(&oldest);
            dropped.push(oldest);
        }
        dropped
    }
}

fn file_name(key: &str) -> String {
    hex::encode(sha2::Sha256::digest(key.as_bytes()))
}

impl Listings {
    /// The cache in `dir`, entries fresh for `ttl`.
    pub fn open(dir: &Path, ttl: Duration) -> Result<Self, Error> {
        Self::with_limits(dir, ttl, (MAX_LISTINGS, MAX_LISTING_BYTES))
    }

    /// [`Listings::open`] with other limits (listings, bytes). What an earlier process
    /// kept on disk is cut to them, oldest first.
    fn with_limits(dir: &Path, ttl: Duration, limits: (usize, usize)) -> Result<Self, Error> {
        let dir = dir.join("listings");
        std::fs::create_dir_all(&dir).map_err(Error::io(format!("creating {}", dir.display())))?;
        prune(&dir, limits);
        Ok(Listings {
            dir,
            ttl,
            mem: RwLock::new(Held::default()),
            limits,
        })
    }

    fn cached(&self, key: &str) -> Option<Cached> {
        if let Some(c) = self
            .mem
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .map
            .get(key)
        {
            return Some(c.clone());
        }
        let bytes = std::fs::read(self.dir.join(file_name(key))).ok()?;
        let (head, body) = split_file(&bytes)?;
        let (secs, stored_key) = head.split_once('\n')?;
        if stored_key != key {
            return None;
        }
        let fetched = SystemTime::UNIX_EPOCH + Duration::from_secs(secs.parse().ok()?);
        Some(Cached {
            body: body.into(),
            fetched,
        })
    }

    fn keep(&self, key: &str, body: Arc<[u8]>) {
        let now = SystemTime::now();
        let secs = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let mut file = format!("{secs}\n{key}\n\n").into_bytes();
        file.extend_from_slice(&body);
        if let Err(e) = write_atomically(&self.dir.join(file_name(key)), &file) {
            tracing::warn!("could not keep the listing {key}: {e}");
        }
        let dropped = {
            let mut held = self
                .mem
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            held.insert(key.to_owned(), Cached { body, fetched: now });
            held.shrink(self.limits)
        };
        for key in dropped {
            let _ = std::fs::remove_file(self.dir.join(file_name(&key)));
        }
    }

    fn forget(&self, key: &str) {
        let _ = std::fs::remove_file(self.dir.join(file_name(key)));
        self.mem
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(key);
    }

    /// The listing at `key` (a path and query): fresh from the cache, else from the
    /// upstream, else stale from the cache.
    pub async fn get(
        &self,
        up: &Upstream,
        metrics: &MirrorMetrics,
        key: &str,
    ) -> Result<Listing, Error> {
        let cached = self.cached(key);
        let age = |c: &Cached| c.fetched.elapsed().unwrap_or_default();
        if let Some(c) = cached.as_ref().filter(|c| age(c) < self.ttl) {
            return Ok(Listing {
                body: c.body.clone(),
                age: age(c),
                stale: false,
            });
        }
        let fetched = match up.client().get_bytes(key, MAX_ANSWER_BYTES).await {
            Ok(body) if serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_ok() => Ok(body),
            Ok(_) => {
                metrics.upstream_error();
                Err(Error::Unreachable {
                    upstream: up.url().to_owned(),
                    reason: format!("its answer to {key} is not JSON"),
                })
            }
            Err(e) => Err(up.failed(key, e)),
        };
        match (fetched, cached) {
            (Ok(body), _) => {
                let body: Arc<[u8]> = body.into();
                self.keep(key, body.clone());
                Ok(Listing {
                    body,
                    age: Duration::ZERO,
                    stale: false,
                })
            }
            (Err(e @ (Error::NotFound { .. } | Error::Upstream { .. })), _) => {
                self.forget(key);
                Err(e)
            }
            (Err(Error::Unreachable { .. }), Some(c)) => {
                metrics.stale();
                Ok(Listing {
                    body: c.body.clone(),
                    age: age(&c),
                    stale: true,
                })
            }
            (Err(e), _) => Err(e),
        }
    }
}

/// Cuts the listings kept in `dir` to `limits`, the least recently written first.
fn prune(dir: &Path, (count, bytes): (usize, usize)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(SystemTime, u64, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            Some((m.modified().ok()?, m.len(), e.path()))
        })
        .collect();
    // Newest first: what fits is kept.
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    let mut total = 0u64;
    for (i, (_, len, path)) in files.iter().enumerate() {
        total += len;
        if i >= count || total > bytes as u64 {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Splits a cache file at its blank line: the header (time, key) and the body.
fn split_file(bytes: &[u8]) -> Option<(&str, &[u8])> {
    let at = bytes.windows(2).position(|w| w == b"\n\n")?;
    Some((std::str::from_utf8(&bytes[..at]).ok()?, &bytes[at + 2..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_keeps_at_most_its_limits_dropping_the_oldest() {
        let dir = tempfile::tempdir().unwrap();
        let ttl = Duration::from_secs(60);
        let listings = Listings::with_limits(dir.path(), ttl, (3, 1000)).unwrap();
        for i in 0..5 {
            listings.keep(&format!("/plugins/p{i}"), Arc::from(&b"[]"[..]));
            std::thread::sleep(Duration::from_millis(2));
        }
        let files = || {
            std::fs::read_dir(dir.path().join("listings"))
                .unwrap()
                .count()
        };
        assert_eq!(files(), 3);
        assert!(listings.cached("/plugins/p0").is_none());
        assert!(listings.cached("/plugins/p4").is_some());
        // Bytes count too: one large body pushes the others out.
        listings.keep("/plugins/big", Arc::from(vec![b' '; 999]));
        assert_eq!(files(), 1);
        assert!(listings.cached("/plugins/big").is_some());
        // What an earlier process kept is cut to the limits on open.
        for i in 0..4 {
            listings.keep(&format!("/plugins/q{i}"), Arc::from(&b"[]"[..]));
            std::thread::sleep(Duration::from_millis(2));
        }
        drop(listings);
        let tight = Listings::with_limits(dir.path(), ttl, (2, 1000)).unwrap();
        assert_eq!(files(), 2);
        assert!(tight.cached("/plugins/q3").is_some());
    }
}
