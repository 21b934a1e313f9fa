//! The sequencer: one writer thread, many async submitters.
//!
//! Submissions queue on a channel. The writer takes everything waiting (up to the batch
//! size), integrates it, writes tiles, signs and publishes a checkpoint, then answers every
//! submitter of the batch with its index and that checkpoint. While a batch is being written
//! new submissions accumulate, so batches grow with load (group commit) and an entry never
//! waits for a timer: at light load it is published as soon as the disk allows.
//!
//! A handle can also follow a log that another process writes ([`LogHandle::follow`]): it
//! is told of each new checkpoint, checks its signature, extends its tree from the stored
//! tiles and checks the root before it serves anything the checkpoint covers.

use std::sync::{Arc, RwLock};

use tokio::sync::{mpsc, oneshot, watch};

use crate::checkpoint::Checkpoint;
use crate::error::{Error, FetchFailure, Inconsistency};
use crate::merkle::{self, Hash, MemoryTree, NodeSource as _};
use crate::note::{Note, NoteVerifier};
use crate::store::TileStore;
use crate::tile::{self, TILE_WIDTH, TilePath};
use crate::writer::LogWriter;

/// Submissions waiting at most (back-pressure beyond).
const QUEUE_DEPTH: usize = 4096;

/// An entry that is in the log and covered by a published checkpoint.
#[derive(Clone, Debug)]
pub struct Appended {
    /// Its index.
    pub index: u64,
    /// The signed checkpoint that covers it.
    pub checkpoint: Arc<str>,
}

struct Submission {
    entry: Vec<u8>,
    reply: oneshot::Sender<Result<Appended, String>>,
}

struct Published {
    checkpoint: Arc<str>,
    size: u64,
}

/// A running log: append entries, read what is published, make proofs.
#[derive(Clone)]
pub struct LogHandle {
    /// The local writer thread; `None` when following a log written elsewhere.
    queue: Option<mpsc::Sender<Submission>>,
    tree: Arc<RwLock<MemoryTree>>,
    published: Arc<RwLock<Published>>,
    /// The published size, for waiters.
    size_changes: Arc<watch::Sender<u64>>,
    /// For a followed log: entries sequenced elsewhere and not yet published.
    backlog: Arc<std::sync::atomic::AtomicUsize>,
    /// For a followed log: the tree holds leaves a failed check pushed; rebuild first.
    dirty: Arc<std::sync::atomic::AtomicBool>,
    store: Arc<dyn TileStore>,
    verifier: NoteVerifier,
    /// Where entries lie in full bundles read before.
    offsets: Arc<crate::bundles::BundleOffsets>,
}

impl std::fmt::Debug for LogHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LogHandle({}, size {})", self.verifier, self.size())
    }
}

impl LogHandle {
    /// Starts the writer thread over an opened log.
    pub fn start(writer: LogWriter, batch_max_size: usize) -> Result<Self, Error> {
        let tree = writer.shared_tree();
        let published = Arc::new(RwLock::new(Published {
            checkpoint: writer.checkpoint().into(),
            size: writer.size(),
        }));
        let verifier = writer.verifier();
        let store = writer.store().clone();
        let (queue, rx) = mpsc::channel(QUEUE_DEPTH);
        let size_changes = Arc::new(watch::Sender::new(writer.size()));
        let state = (published.clone(), size_changes.clone());
        std::thread::Builder::new()
            .name("cairn-sequencer".into())
            .spawn(move || run(writer, rx, state, batch_max_size.max(1)))
            .map_err(|e| Error::Internal(format!("the log writer cannot start its thread: {e}")))?;
        Ok(LogHandle {
            queue: Some(queue),
            tree,
            published,
            size_changes,
            backlog: Arc::default(),
            dirty: Arc::default(),
            store,
            verifier,
            offsets: Arc::default(),
        })
    }

    /// A handle on a log another process writes, starting at its published `checkpoint`
    /// (whose tiles must be in `store`). [`LogHandle::observe`] moves it forward.
    pub fn follow(
        store: Arc<dyn TileStore>,
        verifier: NoteVerifier,
        checkpoint: &str,
    ) -> Result<Self, Error> {
        let handle = LogHandle {
            queue: None,
            tree: Arc::default(),
            published: Arc::new(RwLock::new(Published {
                checkpoint: "".into(),
                size: 0,
            })),
            size_changes: Arc::new(watch::Sender::new(0)),
            backlog: Arc::default(),
            dirty: Arc::default(),
            store,
            verifier,
            offsets: Arc::default(),
        };
        handle.observe(checkpoint)?;
        Ok(handle)
    }

    /// Takes a newer checkpoint of a followed log: checks its signature and origin, extends
    /// the tree from the stored tiles and checks the root, then publishes it here. An older
    /// or equal size changes nothing. Blocking (reads tiles).
    pub fn observe(&self, checkpoint: &str) -> Result<bool, Error> {
        let note = Note::parse(checkpoint.as_bytes())?;
        note.verify(std::slice::from_ref(&self.verifier))?;
        let cp = Checkpoint::parse(note.text())?;
        if cp.origin != self.verifier.name() {
            return Err(Error::Inconsistent(Inconsistency::OriginMismatch {
                found: cp.origin,
                expected: self.verifier.name().to_owned(),
            }));
        }
        let current = self.size();
        if cp.size < current || (cp.size == current && current > 0) {
            return Ok(false);
        }
        if self.dirty.load(std::sync::atomic::Ordering::Acquire) {
            self.rebuild(current)?;
        }
        // Tiles are read before the lock is taken; readers only ever ask for sizes up to the
        // published one, so leaves pushed beyond it are invisible until the root checks.
        let leaves = crate::writer::leaf_hashes(&*self.store, current, cp.size)?;
        let checked = {
            let mut tree = self.tree.write().map_err(|_| poisoned_state())?;
            for h in leaves {
                tree.push(h);
            }
            crate::writer::check_root(&tree, &cp)
        };
        if let Err(e) = checked {
            // The pushed leaves are not the log's: go back to the published tree (read
            // outside the lock; until then the next observe knows to do it first).
            self.dirty.store(true, std::sync::atomic::Ordering::Release);
            self.rebuild(current)?;
            return Err(e);
        }
        self.publish(checkpoint.into(), cp.size);
        Ok(true)
    }

    /// Replaces the tree with the published one of `size`, read from the tiles.
    fn rebuild(&self, size: u64) -> Result<(), Error> {
        let mut fresh = MemoryTree::default();
        for h in crate::writer::leaf_hashes(&*self.store, 0, size)? {
            fresh.push(h);
        }
        *self.tree.write().map_err(|_| poisoned_state())? = fresh;
        self.dirty
            .store(false, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    fn publish(&self, checkpoint: Arc<str>, size: u64) {
        if let Ok(mut p) = self.published.write() {
            *p = Published { checkpoint, size };
        }
        self.size_changes.send_replace(size);
    }

    /// Waits until a published checkpoint covers `index`, at most `timeout`.
    pub async fn covering(
        &self,
        index: u64,
        timeout: std::time::Duration,
    ) -> Result<Appended, Error> {
        let mut sizes = self.size_changes.subscribe();
        let waited = tokio::time::timeout(timeout, sizes.wait_for(|size| *size > index)).await;
        match waited {
            Ok(Ok(_)) => Ok(Appended {
                index,
                checkpoint: self.checkpoint(),
            }),
            Ok(Err(_)) => Err(Error::Stopped("it has stopped")),
            Err(_) => Err(Error::Timeout {
                index,
                waited: timeout,
            }),
        }
    }

    /// Entries waiting to be published: submissions queued for the local writer, or, for
    /// a followed log, what [`LogHandle::set_backlog`] last reported.
    pub fn queue_depth(&self) -> usize {
        match &self.queue {
            Some(q) => q.max_capacity() - q.capacity(),
            None => self.backlog.load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// For a followed log: how many entries are sequenced but not yet published.
    pub fn set_backlog(&self, entries: usize) {
        self.backlog
            .store(entries, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether the local writer thread still takes submissions (a follower: always).
    pub fn is_running(&self) -> bool {
        self.queue.as_ref().is_none_or(|q| !q.is_closed())
    }

    /// Appends an entry and waits until a published checkpoint covers it.
    pub async fn append(&self, entry: Vec<u8>) -> Result<Appended, Error> {
        if entry.len() > tile::MAX_ENTRY_SIZE {
            return Err(Error::EntryTooLarge {
                size: entry.len(),
                max: tile::MAX_ENTRY_SIZE,
            });
        }
        let (reply, answer) = oneshot::channel();
        let Some(queue) = &self.queue else {
            return Err(Error::Stopped(
                "this log is written elsewhere: entries are sequenced through its database",
            ));
        };
        queue
            .send(Submission { entry, reply })
            .await
            .map_err(|_| Error::Stopped("it has stopped"))?;
        answer
            .await
            .map_err(|_| Error::Stopped("it has stopped"))?
            .map_err(Error::Write)
    }

    /// The latest published checkpoint (a signed note).
    pub fn checkpoint(&self) -> Arc<str> {
        self.published
            .read()
            .map(|p| p.checkpoint.clone())
            .unwrap_or_else(|p| p.into_inner().checkpoint.clone())
    }

    /// The published tree size.
    pub fn size(&self) -> u64 {
        self.published
            .read()
            .map(|p| p.size)
            .unwrap_or_else(|p| p.into_inner().size)
    }

    /// The log's verifier key.
    pub fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    fn tree(&self) -> std::sync::RwLockReadGuard<'_, MemoryTree> {
        self.tree
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Inclusion proof of `index` in the published tree of `size` (≤ the published size).
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, Error> {
        self.check_size(size)?;
        merkle::inclusion_proof(&*self.tree(), index, size)
    }

    /// The root hash of the published tree's first `size` leaves: what a checkpoint of that
    /// size must have signed.
    pub fn root_at(&self, size: u64) -> Result<Hash, Error> {
        self.check_size(size)?;
        merkle::root(&*self.tree(), size)
    }

    /// Consistency proof between two published sizes.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, Error> {
        self.check_size(new)?;
        merkle::consistency_proof(&*self.tree(), old, new)
    }

    fn check_size(&self, size: u64) -> Result<(), Error> {
        let published = self.size();
        if size > published {
            return Err(Error::Proof(crate::ProofError::SizeBeyondLog {
                size,
                published,
            }));
        }
        Ok(())
    }

    /// A published tile or bundle, by its C2SP path; `None` if it is not (yet) published.
    pub fn tile(&self, path: &TilePath) -> Result<Option<Vec<u8>>, Error> {
        if !tile::is_published(path, self.size()) {
            return Ok(None);
        }
        let path = path.to_string();
        self.store.read(&path).map_err(|e| Error::Fetch {
            path,
            failure: FetchFailure::Io(e),
        })
    }

    /// A published entry by index.
    pub fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.entries(index, index.saturating_add(1))?.pop())
    }

    /// Published entries `from..to` (clamped to the published size), reading each entry
    /// bundle once. Every entry is hashed against the leaf the tree holds for it (one
    /// SHA-256 each): an altered bundle is an error, never served or replayed.
    pub fn entries(&self, from: u64, to: u64) -> Result<Vec<Vec<u8>>, Error> {
        let to = to.min(self.size());
        self.entries_at(&(from..to).collect::<Vec<_>>())
    }

    /// Published entries at `indexes` (increasing; any beyond the published size are left
    /// out), reading each bundle they fall in once and hashing only those entries against
    /// their leaves: a search's scattered hits cost one read per bundle, not per entry, and
    /// in a full bundle read before, one ranged read of the entry alone.
    pub fn entries_at(&self, indexes: &[u64]) -> Result<Vec<Vec<u8>>, Error> {
        let size = self.size();
        let mut out = Vec::with_capacity(indexes.len());
        let mut rest = indexes;
        while let Some(&first) = rest.first() {
            if first >= size {
                break;
            }
            let bundle = first / TILE_WIDTH;
            let end = (bundle + 1) * TILE_WIDTH;
            let within = rest.iter().take_while(|&&i| i < end && i < size).count();
            let (here, later) = rest.split_at(within);
            let width = (size - bundle * TILE_WIDTH).min(TILE_WIDTH);
            let path = TilePath {
                kind: tile::TileKind::Entries,
                index: bundle,
                partial: (width < TILE_WIDTH).then_some(width as u8),
            };
            let entries = match self.offsets.get(bundle).filter(|_| path.partial.is_none()) {
                Some(offsets) => self.read_ranges(&path, &offsets, here)?,
                None => self.read_bundle(&path, here)?,
            };
            let tree = self.tree();
            for (&i, entry) in here.iter().zip(entries) {
                if merkle::leaf_hash(&entry) != tree.node(0, i)? {
                    return Err(Error::EntryAltered {
                        index: i,
                        path: path.to_string(),
                    });
                }
                out.push(entry);
            }
            rest = later;
        }
        Ok(out)
    }

    /// Entries `here` of the bundle at `path`, read whole (and, when full, its offsets kept).
    fn read_bundle(&self, path: &TilePath, here: &[u64]) -> Result<Vec<Vec<u8>>, Error> {
        let data = self.tile(path)?.ok_or_else(|| Error::Fetch {
            path: path.to_string(),
            failure: FetchFailure::Missing,
        })?;
        let entries = tile::decode_bundle(&data)?;
        if path.partial.is_none() && entries.len() as u64 == TILE_WIDTH {
            self.offsets.keep(path.index, &entries);
        }
        here.iter()
            .map(|&i| {
                entries
                    .get((i % TILE_WIDTH) as usize)
                    .map(|e| e.to_vec())
                    .ok_or_else(|| {
                        Error::Inconsistent(Inconsistency::EntryCount {
                            path: path.to_string(),
                            expected: path.width(),
                            found: entries.len() as u64,
                        })
                    })
            })
            .collect()
    }

    /// Entries `here` of the full bundle at `path`, each read alone at its known offset.
    fn read_ranges(
        &self,
        path: &TilePath,
        offsets: &[u32],
        here: &[u64],
    ) -> Result<Vec<Vec<u8>>, Error> {
        let name = path.to_string();
        here.iter()
            .map(|&i| {
                let k = (i % TILE_WIDTH) as usize;
                let (start, end) = match (offsets.get(k), offsets.get(k + 1)) {
                    (Some(&s), Some(&e)) if e >= s + 2 => (u64::from(s) + 2, u64::from(e)),
                    _ => {
                        return Err(Error::Internal(format!("bundle offsets of {name}")));
                    }
                };
                self.store
                    .read_range(&name, start, (end - start) as usize)
                    .map_err(|e| Error::Fetch {
                        path: name.clone(),
                        failure: FetchFailure::Io(e),
                    })?
                    .ok_or_else(|| Error::Fetch {
                        path: name.clone(),
                        failure: FetchFailure::Missing,
                    })
            })
            .collect()
    }
}

fn poisoned_state() -> Error {
    Error::Internal("a thread panicked holding the log's tree".into())
}

fn run(
    mut writer: LogWriter,
    mut rx: mpsc::Receiver<Submission>,
    (published, size_changes): (Arc<RwLock<Published>>, Arc<watch::Sender<u64>>),
    max: usize,
) {
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < max {
            match rx.try_recv() {
                Ok(s) => batch.push(s),
                Err(_) => break,
            }
        }
        let entries: Vec<Vec<u8>> = batch
            .iter_mut()
            .map(|s| std::mem::take(&mut s.entry))
            .collect();
        match writer.append(&entries) {
            Ok(done) => {
                let checkpoint: Arc<str> = done.checkpoint.into();
                if let Ok(mut p) = published.write() {
                    *p = Published {
                        checkpoint: checkpoint.clone(),
                        size: writer.size(),
                    };
                }
                size_changes.send_replace(writer.size());
                for (i, s) in batch.into_iter().enumerate() {
                    let _ = s.reply.send(Ok(Appended {
                        index: done.first_index + i as u64,
                        checkpoint: checkpoint.clone(),
                    }));
                }
            }
            Err(e) => {
                let message = e.to_string();
                for s in batch {
                    let _ = s.reply.send(Err(message.clone()));
                }
            }
        }
    }
}
