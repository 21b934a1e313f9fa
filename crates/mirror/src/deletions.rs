//! [`Deletions`]: an artifact whose deletion the upstream logs stops being served.
//!
//! A withdrawn plugin must not live on in mirrors. After each checkpoint the mirror takes,
//! it reads the entries it has not read yet (each bundle checked against the verified
//! leaves) and forgets every held artifact a `delete` entry names. How far it has read is
//! kept in `<dir>/deletions-applied`, so a restart goes on from there.

use std::path::PathBuf;

use cairn_api::LogEntry;
use cairn_tlog::tile::TILE_WIDTH;

use crate::error::Error;
use crate::store::{Store, write_atomically};
use crate::upstream::Upstream;
use crate::upstream_log::UpstreamLog;

/// How far the upstream log has been read for deletions.
#[derive(Debug)]
pub(crate) struct Deletions {
    path: PathBuf,
    applied: tokio::sync::Mutex<u64>,
}

impl Deletions {
    pub(crate) fn open(dir: &std::path::Path) -> Self {
        let path = dir.join("deletions-applied");
        let applied = std::fs::read_to_string(&path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        Deletions {
            path,
            applied: tokio::sync::Mutex::new(applied),
        }
    }

    fn save(&self, applied: u64) -> Result<(), Error> {
        write_atomically(&self.path, applied.to_string().as_bytes())
            .map_err(Error::io("keeping how far deletions were read"))
    }

    /// Reads the entries after the last one read, up to the verified size, and forgets what
    /// they delete.
    pub(crate) async fn catch_up(
        &self,
        log: &UpstreamLog,
        up: &Upstream,
        store: &Store,
    ) -> Result<(), Error> {
        let mut applied = self.applied.lock().await;
        let size = log.size();
        if *applied >= size {
            return Ok(());
        }
        if store.len() == 0 {
            // Nothing held, nothing to forget: what was deleted before is not fetched (the
            // upstream answers 404 for it).
            *applied = size;
            return self.save(size);
        }
        let mut first = *applied - *applied % TILE_WIDTH;
        while first < size {
            let path = log.bundle_path(first);
            let bytes = match log.held_bundle(&path)? {
                Some(b) => b,
                None => log.fetch_bundle(up, &path).await?,
            };
            let entries = cairn_tlog::tile::decode_bundle(&bytes)
                .map_err(|e| Error::Damaged(e.to_string()))?;
            for (i, e) in entries.iter().enumerate() {
                if first + (i as u64) < *applied {
                    continue;
                }
                if let Ok(LogEntry::Delete { digest, .. }) = serde_json::from_slice(e) {
                    if store.remove(&digest)? {
                        tracing::info!(%digest, "the upstream deleted a held artifact: forgotten");
                    }
                }
            }
            first += TILE_WIDTH;
            *applied = first.min(size);
            self.save(*applied)?;
        }
        Ok(())
    }
}
