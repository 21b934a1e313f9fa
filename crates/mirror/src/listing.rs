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

/// The listing cache: in memory, and on disk under `<dir>/listings` so a restarted mirror
/// still answers with the upstream down.
#[derive(Debug)]
pub struct Listings {
    dir: PathBuf,
    ttl: Duration,
    mem: RwLock<HashMap<String, Cached>>,
}

fn file_name(key: &str) -> String {
    hex::encode(sha2::Sha256::digest(key.as_bytes()))
}

impl Listings {
    /// The cache in `dir`, entries fresh for `ttl`.
    pub fn open(dir: &Path, ttl: Duration) -> Result<Self, Error> {
        let dir = dir.join("listings");
        std::fs::create_dir_all(&dir).map_err(Error::io(format!("creating {}", dir.display())))?;
        Ok(Listings {
            dir,
            ttl,
            mem: RwLock::new(HashMap::new()),
        })
    }

    fn cached(&self, key: &str) -> Option<Cached> {
        if let Some(c) = self
            .mem
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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
        self.mem
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key.to_owned(), Cached { body, fetched: now });
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

/// Splits a cache file at its blank line: the header (time, key) and the body.
fn split_file(bytes: &[u8]) -> Option<(&str, &[u8])> {
    let at = bytes.windows(2).position(|w| w == b"\n\n")?;
    Some((std::str::from_utf8(&bytes[..at]).ok()?, &bytes[at + 2..]))
}
