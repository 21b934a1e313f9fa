//! The journal: every change is a log entry first, and the index its projection.
//!
//! [`Registry::record`] logs an entry and applies that same entry to the index (embedded:
//! append, then apply; shared: one PostgreSQL transaction sequences and applies it).
//! [`Registry::replay`] applies, at start-up, entries a crash left unapplied, and
//! `rebuild_shared` re-applies the whole shared log; migrate calls [`apply_logged`] too.
//! All of them go through `index::projection::apply`.

use std::ops::Range;
use std::time::{Duration, Instant};

use super::Registry;
use crate::digest::Digest;
use crate::error::Error;
use crate::index::{Index, log_state, projection};
use crate::log_entry::{EntryCodec as _, LogEntry};

/// An entry ready to log: its canonical bytes made once, and checked to fit a bundle before
/// anything is stored for it.
#[derive(Debug)]
pub(super) struct Logged {
    entry: LogEntry,
    bytes: Vec<u8>,
}

impl Logged {
    /// Serializes `entry`; refused, naming `what` made it large, when no bundle holds it.
    pub(super) fn new(entry: LogEntry, what: &'static str) -> Result<Self, Error> {
        let bytes = entry.to_bytes();
        if bytes.len() > cairn_tlog::tile::MAX_ENTRY_SIZE {
            return Err(Error::EntryTooLarge {
                what,
                size: bytes.len(),
            });
        }
        Ok(Logged { entry, bytes })
    }
}

/// A recorded entry, published or still waiting for a checkpoint.
#[derive(Debug)]
pub(super) enum Recorded {
    /// Covered by a checkpoint (the embedded log answers only then).
    Published(cairn_tlog::Appended),
    /// Sequenced in the shared log, durable; the leader has yet to publish it.
    Sequenced {
        /// Its index.
        index: u64,
        /// When it was submitted, for the sequencing metric.
        started: Instant,
    },
}

/// Most entries replay applies in one transaction.
const REPLAY_BATCH: usize = 4096;

/// `from..to` cut at bundle boundaries: replay reads and decodes each bundle once, and
/// holds one at a time.
fn bundles(from: u64, to: u64) -> impl Iterator<Item = Range<u64>> {
    let next_bundle =
        |start: u64| (start / cairn_tlog::tile::TILE_WIDTH + 1) * cairn_tlog::tile::TILE_WIDTH;
    std::iter::successors((from < to).then_some(from), move |&start| {
        Some(next_bundle(start)).filter(|&next| next < to)
    })
    .map(move |start| start..to.min(next_bundle(start)))
}

/// Parses log entry `i` as the registry's own (anything else is an altered log).
pub(crate) fn parse_logged(i: u64, bytes: &[u8]) -> Result<LogEntry, Error> {
    LogEntry::parse(bytes).ok_or_else(|| {
        Error::Corrupt(format!(
            "log entry {i} is not a registry entry ({} bytes): the log was altered",
            bytes.len()
        ))
    })
}

/// Applies logged entry `i` to `index` (idempotent); a deleted digest goes to `deleted`,
/// whose blob the caller removes once no later entry publishes it again.
pub(crate) async fn apply_logged(
    index: &Index,
    i: u64,
    bytes: &[u8],
    deleted: &mut Vec<Digest>,
) -> Result<(), Error> {
    let entry = parse_logged(i, bytes)?;
    index.apply(&entry, i).await?;
    if let LogEntry::Delete { digest, .. } | LogEntry::PackageDelete { digest, .. } = &entry {
        deleted.extend(Digest::parse(digest));
    }
    Ok(())
}

impl Registry {
    /// Logs `entry` and applies it to the index. `None` when it changed nothing: with the
    /// shared log nothing is logged then; with the embedded log the entry stays logged, as
    /// replay would apply it (a no-op).
    ///
    /// Embedded: the writer thread appends, then the index is written and the applied
    /// watermark advanced (replay covers a crash in between). Shared: one PostgreSQL
    /// transaction sequences the entry and changes the index; [`Registry::published`] then
    /// waits for the leader's checkpoint covering it.
    pub(super) async fn record(&self, logged: Logged) -> Result<Option<Recorded>, Error> {
        let Logged { entry, bytes } = logged;
        let entry = &entry;
        if self.shared() {
            let started = Instant::now();
            let Some(index) = self.index.sequence(entry, &bytes).await? else {
                return Ok(None);
            };
            self.bump();
            return Ok(Some(Recorded::Sequenced { index, started }));
        }
        let appended = self.append(bytes).await?;
        let applied = self.apply_appended(entry, appended.index).await?;
        self.applied(appended.index).await?;
        if applied {
            self.bump();
        }
        Ok(applied.then_some(Recorded::Published(appended)))
    }

    /// The entry is logged: its change must reach the index. Two tries, then writes stop
    /// (503) until a replay catches up, so a retry can never log it twice.
    async fn apply_appended(&self, entry: &LogEntry, index: u64) -> Result<bool, Error> {
        let mut tries = 0;
        loop {
            match self.index.apply(entry, index).await {
                Ok(applied) => return Ok(applied),
                Err(e) if tries < 1 => {
                    tries += 1;
                    tracing::warn!(error = %e, index, "index write failed; retrying");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, index, "the index is behind the log; writes pause");
                    if let Ok(mut behind) = self.behind.lock() {
                        behind.get_or_insert((index, e.to_string()));
                    }
                    let reason = e.to_string();
                    return Err(Error::IndexBehind { index, reason });
                }
            }
        }
    }

    /// Appends to the embedded log, timing submission to covering checkpoint.
    async fn append(&self, entry: Vec<u8>) -> Result<cairn_tlog::Appended, Error> {
        let started = Instant::now();
        let appended = self.log.append(entry).await?;
        self.metrics
            .sequencing
            .observe(started.elapsed().as_secs_f64());
        Ok(appended)
    }

    /// Records that log entry `index` is reflected in the index.
    async fn applied(&self, index: u64) -> Result<(), Error> {
        let advanced = self
            .watermark
            .lock()
            .map_err(|_| Error::Internal("watermark lock".into()))?
            .applied(index);
        if let Some(next) = advanced {
            self.index.set_log_applied(next).await?;
        }
        Ok(())
    }

    /// Waits until a checkpoint covers a recorded entry. Call it without holding a digest
    /// lock: with the shared log the wait lasts as long as the leader takes.
    pub(super) async fn published(
        &self,
        recorded: Recorded,
    ) -> Result<cairn_tlog::Appended, Error> {
        match recorded {
            Recorded::Published(appended) => Ok(appended),
            Recorded::Sequenced { index, started } => {
                let appended = self
                    .log
                    .covering(index, self.log_wait)
                    .await
                    .map_err(|_| Error::NotYetLogged(index))?;
                self.metrics
                    .sequencing
                    .observe(started.elapsed().as_secs_f64());
                Ok(appended)
            }
        }
    }

    /// Refuses writes while the index is behind the log, after trying to catch it up.
    pub(super) async fn writable(&self) -> Result<(), Error> {
        let behind = self.behind.lock().ok().and_then(|b| b.clone());
        let Some((index, reason)) = behind else {
            return Ok(());
        };
        match self.replay().await {
            Ok(()) => {
                if let Ok(mut b) = self.behind.lock() {
                    *b = None;
                }
                self.bump();
                tracing::info!(index, "the index caught up with the log; writes resume");
                Ok(())
            }
            Err(e) => Err(Error::WritesPaused {
                index,
                reason: format!("{reason}; catching up failed: {e}"),
            }),
        }
    }

    /// Whether writes are paused because the index is behind the log.
    pub fn index_behind(&self) -> Option<u64> {
        self.behind
            .lock()
            .ok()
            .and_then(|b| b.as_ref().map(|(i, _)| *i))
    }

    /// Applies, in log order, every entry from the persisted replay point: a crash between a
    /// log append and its index write loses nothing. Replaying an applied entry is harmless.
    /// Entries go in batches of [`REPLAY_BATCH`], one transaction each, the watermark
    /// advanced after each: a reindex of a long log commits a few hundred times, not once
    /// an entry, and a crash in the middle keeps what was done.
    pub(super) async fn replay(&self) -> Result<(), Error> {
        let (from, to) = (self.index.log_applied().await?, self.log.size());
        let mut deleted = Vec::new();
        let mut batch = Vec::new();
        for bundle in bundles(from, to) {
            let end = bundle.end;
            for (i, bytes) in bundle.clone().zip(self.read_entries(bundle).await?) {
                let entry = parse_logged(i, &bytes)?;
                if let LogEntry::Delete { digest, .. } | LogEntry::PackageDelete { digest, .. } =
                    &entry
                {
                    deleted.extend(Digest::parse(digest));
                }
                batch.push((i, entry));
            }
            if batch.len() >= REPLAY_BATCH || end == to {
                self.index.apply_batch(&batch).await?;
                self.index.set_log_applied(end).await?;
                batch.clear();
            }
        }
        // A later entry may publish a deleted digest again: only blobs left unindexed go.
        for d in deleted {
            if !self.blob_held(&d).await? {
                self.blobs.delete(&d).await?;
            }
        }
        if to > from {
            tracing::info!(from, to, "replayed log entries into the index");
        }
        Ok(())
    }

    /// Empties the shared index and applies the whole log to it, in one transaction that
    /// holds the sequence lock: nothing is sequenced meanwhile, and every sequenced entry is
    /// first integrated, so all of them are read checked against the tree.
    pub(super) async fn rebuild_shared(&self) -> Result<(), Error> {
        let mut tx = self.index.begin().await?;
        let size = log_state::lock_sequence(&mut tx).await?;
        if size > 0 {
            self.log
                .covering(size - 1, self.log_wait)
                .await
                .map_err(|_| Error::NotYetLogged(size - 1))?;
        }
        projection::clear(&mut tx).await?;
        for bundle in bundles(0, size) {
            let mut entries = Vec::with_capacity(bundle.clone().count());
            for (i, bytes) in bundle.clone().zip(self.read_entries(bundle).await?) {
                entries.push((i, parse_logged(i, &bytes)?));
            }
            projection::apply_all(&mut tx, &entries).await?;
        }
        tx.commit().await?;
        self.bump();
        tracing::info!(size, "rebuilt the shared index from the log");
        Ok(())
    }

    /// Entries `range` of the log (one bundle), each checked against its leaf in the tree.
    async fn read_entries(&self, range: Range<u64>) -> Result<Vec<Vec<u8>>, Error> {
        let log = self.log.clone();
        tokio::task::spawn_blocking(move || log.entries(range.start, range.end))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
            .map_err(Error::from)
    }

    /// Whether the log is shared through the PostgreSQL index (sequenced there, integrated
    /// by one leader) rather than written by this process alone.
    pub(super) fn shared(&self) -> bool {
        self.index.postgres().is_some()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bundles_cover_the_range_once_at_bundle_boundaries() {
        let cut = |from, to| super::bundles(from, to).collect::<Vec<_>>();
        assert_eq!(cut(300, 1000), vec![300..512, 512..768, 768..1000]);
        assert_eq!(cut(0, 256), vec![0..256]);
        assert_eq!(cut(5, 5), vec![]);
        assert_eq!(cut(256, 257), vec![256..257]);
    }
}
