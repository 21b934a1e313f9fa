//! The sequencer: one writer thread, many async submitters.
//!
//! Submissions queue on a channel. The writer takes everything waiting (up to the batch
//! size), integrates it, writes tiles, signs and publishes a checkpoint, then answers every
//! submitter of the batch with its index and that checkpoint. While a batch is being written
//! new submissions accumulate, so batches grow with load (group commit) and an entry never
//! waits for a timer: at light load it is published as soon as the disk allows.

use std::sync::{Arc, RwLock};

use tokio::sync::{mpsc, oneshot};

use crate::error::Error;
use crate::merkle::{self, Hash, MemoryTree};
use crate::note::NoteVerifier;
use crate::store::DirStore;
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
    queue: mpsc::Sender<Submission>,
    tree: Arc<RwLock<MemoryTree>>,
    published: Arc<RwLock<Published>>,
    store: DirStore,
    verifier: NoteVerifier,
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
        let state = published.clone();
        std::thread::Builder::new()
            .name("cairn-sequencer".into())
            .spawn(move || run(writer, rx, state, batch_max_size.max(1)))
            .map_err(|e| Error::Malformed {
                what: "log writer",
                reason: format!("cannot start its thread: {e}"),
            })?;
        Ok(LogHandle {
            queue,
            tree,
            published,
            store,
            verifier,
        })
    }

    /// Submissions waiting for the writer.
    pub fn queue_depth(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }

    /// Whether the writer thread still takes submissions.
    pub fn is_running(&self) -> bool {
        !self.queue.is_closed()
    }

    /// Appends an entry and waits until a published checkpoint covers it.
    pub async fn append(&self, entry: Vec<u8>) -> Result<Appended, Error> {
        if entry.len() > tile::MAX_ENTRY_SIZE {
            return Err(Error::Malformed {
                what: "entry",
                reason: format!("{} bytes exceeds {}", entry.len(), tile::MAX_ENTRY_SIZE),
            });
        }
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Submission { entry, reply })
            .await
            .map_err(|_| Error::Note("the log writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| Error::Note("the log writer has stopped".into()))?
            .map_err(Error::Note)
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

    /// Consistency proof between two published sizes.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, Error> {
        self.check_size(new)?;
        merkle::consistency_proof(&*self.tree(), old, new)
    }

    fn check_size(&self, size: u64) -> Result<(), Error> {
        let published = self.size();
        if size > published {
            return Err(Error::Proof(crate::ProofError::IndexOutOfRange {
                index: size,
                size: published,
            }));
        }
        Ok(())
    }

    /// A published tile or bundle, by its C2SP path; `None` if it is not (yet) published.
    pub fn tile(&self, path: &TilePath) -> Result<Option<Vec<u8>>, Error> {
        if !tile::is_published(path, self.size()) {
            return Ok(None);
        }
        self.store
            .read(&path.to_string())
            .map_err(|e| Error::Malformed {
                what: "log storage",
                reason: e.to_string(),
            })
    }

    /// A published entry by index.
    pub fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.entries(index, index.saturating_add(1))?.pop())
    }

    /// Published entries `from..to` (clamped to the published size), reading each entry
    /// bundle once.
    pub fn entries(&self, from: u64, to: u64) -> Result<Vec<Vec<u8>>, Error> {
        let size = self.size();
        let to = to.min(size);
        let mut out = Vec::new();
        let mut index = from;
        while index < to {
            let bundle = index / TILE_WIDTH;
            let width = (size - bundle * TILE_WIDTH).min(TILE_WIDTH);
            let path = TilePath {
                kind: tile::TileKind::Entries,
                index: bundle,
                partial: (width < TILE_WIDTH).then_some(width as u8),
            };
            let data = self.tile(&path)?.ok_or_else(|| Error::Malformed {
                what: "log storage",
                reason: format!("{path} is missing"),
            })?;
            let entries = tile::decode_bundle(&data)?;
            let end = to.min((bundle + 1) * TILE_WIDTH);
            for i in index..end {
                let entry =
                    entries
                        .get((i % TILE_WIDTH) as usize)
                        .ok_or_else(|| Error::Malformed {
                            what: "log storage",
                            reason: format!("{path} lacks entry {i}"),
                        })?;
                out.push(entry.to_vec());
            }
            index = end;
        }
        Ok(out)
    }
}

fn run(
    mut writer: LogWriter,
    mut rx: mpsc::Receiver<Submission>,
    published: Arc<RwLock<Published>>,
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
