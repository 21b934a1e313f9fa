//! The log writer: integrates batches of entries, writes tiles, then signs the checkpoint.
//!
//! Order of a batch, and what a crash at each point means:
//! 1. entry bundles and hash tiles are written (each durable when written). A crash here
//!    leaves tiles beyond the published checkpoint: nobody trusts them (readers check against
//!    the checkpoint), and the next batch overwrites them.
//! 2. the new checkpoint is signed, and only if it is consistent with the previous one (it
//!    extends the same tree, checked by recomputation), then written. A crash before the
//!    rename leaves the old checkpoint; after it, the batch is published.
//!
//! On open, the writer reloads the published checkpoint, rebuilds the tree from the level-0
//! tiles it covers and checks the root: the same state a reader would reconstruct.

use std::sync::{Arc, RwLock, RwLockReadGuard};

use base64::Engine;

use crate::checkpoint::Checkpoint;
use crate::error::{Error, FetchFailure, Inconsistency};
use crate::merkle::{Hash, MemoryTree, NodeSource, leaf_hash};
use crate::note::{Note, NoteSigner};
use crate::store::TileStore;
use crate::tile::{self, TILE_HEIGHT, TILE_WIDTH, TileKind, TilePath};

/// Default batch size: entries integrated per checkpoint at most.
pub const DEFAULT_BATCH_MAX_SIZE: usize = 256;

/// What a committed batch gives back.
#[derive(Clone, Debug)]
pub struct Committed {
    /// Index of the batch's first entry.
    pub first_index: u64,
    /// The signed checkpoint covering the batch.
    pub checkpoint: String,
}

/// The writing side of a log stored in a [`TileStore`].
#[derive(Debug)]
pub struct LogWriter {
    store: Arc<dyn TileStore>,
    signer: Arc<NoteSigner>,
    origin: String,
    /// Shared with readers: nodes below the published size never change, so proofs can be
    /// made under a read lock while a batch is being written.
    tree: Arc<RwLock<MemoryTree>>,
    /// Entries of the last, incomplete bundle (needed to rewrite it as it grows).
    tail: Vec<Vec<u8>>,
    checkpoint: String,
}

/// Reading `path` from the store failed.
fn read_failed(path: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> Error {
    move |e| Error::Fetch {
        path: path.to_string(),
        failure: FetchFailure::Io(e),
    }
}

/// Writing `path` to the store failed.
fn write_failed(path: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> Error {
    move |e| Error::Store {
        path: path.to_string(),
        failure: e,
    }
}

impl LogWriter {
    /// Opens the log in `store`, creating an empty one (size 0 checkpoint) if there is none.
    pub fn open(store: impl TileStore + 'static, signer: NoteSigner) -> Result<Self, Error> {
        Self::open_in(Arc::new(store), signer)
    }

    /// [`LogWriter::open`] over a shared store handle.
    ///
    /// Refuses, rather than restart or fork the log, when the tiles contradict the
    /// checkpoint: tiles without a checkpoint, or tiles further beyond it than one unfinished
    /// batch can reach (an older checkpoint than the tiles, e.g. restored from a backup).
    pub fn open_in(store: Arc<dyn TileStore>, signer: NoteSigner) -> Result<Self, Error> {
        let stored = store
            .read("checkpoint")
            .map_err(read_failed("checkpoint"))?;
        if stored.is_none()
            && store
                .has_any("tile/entries")
                .map_err(read_failed("tile/entries"))?
        {
            return Err(Error::Contradiction(
                "there are entry tiles but no checkpoint: a new log over them would sign a \
                 second history with the same key. Restore the checkpoint file from a backup \
                 (or, to discard this log on purpose, move the log directory away)"
                    .into(),
            ));
        }
        let w = Self::resume(store, signer, stored.as_deref())?;
        w.check_nothing_beyond()?;
        if stored.is_none() {
            w.write_checkpoint()?;
        }
        Ok(w)
    }

    /// Opens the log whose published checkpoint is `checkpoint` (kept outside the store, as
    /// a shared sequencer keeps it in its database), or an empty log when `None`. The tiles
    /// the checkpoint covers must be in `store`; nothing is written.
    pub fn resume(
        store: Arc<dyn TileStore>,
        signer: impl Into<Arc<NoteSigner>>,
        checkpoint: Option<&[u8]>,
    ) -> Result<Self, Error> {
        let signer = signer.into();
        let origin = signer.verifier().name().to_owned();
        let mut w = LogWriter {
            store,
            signer,
            origin,
            tree: Arc::default(),
            tail: Vec::new(),
            checkpoint: String::new(),
        };
        match checkpoint {
            None => {
                let empty = Checkpoint {
                    origin: w.origin.clone(),
                    size: 0,
                    root: crate::merkle::empty_root(),
                    extensions: vec![],
                };
                w.checkpoint = w.signer.sign(&empty.to_text())?;
            }
            Some(bytes) => w.reload(bytes)?,
        }
        Ok(w)
    }

    /// A crashed batch leaves at most one batch of entries beyond the checkpoint (at most
    /// two bundles: the partial one and the next); anything further means the checkpoint is
    /// older than tiles that were published.
    fn check_nothing_beyond(&self) -> Result<(), Error> {
        let size = self.size();
        let beyond = TilePath {
            kind: TileKind::Entries,
            index: size / TILE_WIDTH + 2,
            partial: None,
        };
        if self
            .store
            .has_any(&beyond.to_string())
            .map_err(read_failed(beyond))?
        {
            return Err(Error::Contradiction(format!(
                "entry tiles go on past {beyond} while the checkpoint covers {size} entries: the \
                 checkpoint is older than the tiles (restored from a backup?). Restore the newest \
                 checkpoint; signing on would fork the log"
            )));
        }
        Ok(())
    }

    /// Writes the current checkpoint to the store's `checkpoint` object.
    pub fn write_checkpoint(&self) -> Result<(), Error> {
        self.store
            .write("checkpoint", self.checkpoint.as_bytes())
            .map_err(write_failed("checkpoint"))
    }

    fn reload(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let note = Note::parse(bytes)?;
        note.verify(&[self.signer.verifier()])?;
        let cp = Checkpoint::parse(note.text())?;
        if cp.origin != self.origin {
            return Err(Error::Inconsistent(Inconsistency::OriginMismatch {
                found: cp.origin,
                expected: self.origin.clone(),
            }));
        }
        let mut tree = MemoryTree::default();
        extend_tree(&*self.store, &mut tree, &cp)?;
        let partial = cp.size % TILE_WIDTH;
        if partial > 0 {
            let t = TilePath {
                kind: TileKind::Entries,
                index: cp.size / TILE_WIDTH,
                partial: Some(partial as u8),
            };
            let data = self.read_required(&t)?;
            let first = cp.size - partial;
            let mut tail = Vec::with_capacity(partial as usize);
            // The tail is copied into the next bundle: each entry must be what was logged.
            for (i, e) in tile::decode_bundle(&data)?.into_iter().enumerate() {
                if leaf_hash(e) != tree.node(0, first + i as u64)? {
                    return Err(Error::EntryAltered {
                        index: first + i as u64,
                        path: t.to_string(),
                    });
                }
                tail.push(e.to_vec());
            }
            self.tail = tail;
        }
        *self.tree.write().map_err(|_| poisoned())? = tree;
        self.checkpoint = String::from_utf8_lossy(bytes).into_owned();
        Ok(())
    }

    /// A tile the published checkpoint covers: missing means the storage lost data.
    fn read_required(&self, t: &TilePath) -> Result<Vec<u8>, Error> {
        read_required(&*self.store, t)
    }

    /// Entries in the log.
    pub fn size(&self) -> u64 {
        self.tree.read().map_or(0, |t| t.size())
    }

    /// The latest signed checkpoint.
    pub fn checkpoint(&self) -> &str {
        &self.checkpoint
    }

    /// The tree, for proofs (read-locked while held).
    pub fn tree(&self) -> RwLockReadGuard<'_, MemoryTree> {
        self.tree
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A handle on the tree for readers on other threads.
    pub fn shared_tree(&self) -> Arc<RwLock<MemoryTree>> {
        self.tree.clone()
    }

    /// The log's verifier key.
    pub fn verifier(&self) -> crate::note::NoteVerifier {
        self.signer.verifier()
    }

    /// The store the log is written to.
    pub fn store(&self) -> &Arc<dyn TileStore> {
        &self.store
    }

    /// The log's origin (its key name).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Appends a batch and publishes a checkpoint covering it.
    ///
    /// On any failure the in-memory state is rebuilt from what was published, so a failed
    /// batch is discarded as a crash would discard it.
    pub fn append(&mut self, entries: &[Vec<u8>]) -> Result<Committed, Error> {
        // Signing moves `self.checkpoint` ahead before it is written: a failure must go back
        // to the one that was published, or the failed batch would ride on the next one.
        let published = self.checkpoint.clone();
        let result = self
            .write_batch(entries)
            .and_then(|()| self.sign())
            .and_then(|c| self.write_checkpoint().map(|()| c));
        if result.is_err() {
            self.tail.clear();
            self.reload(published.as_bytes())?;
        }
        result
    }

    /// Integrates a batch, writes its tiles and signs a checkpoint for it, without writing
    /// the checkpoint: the caller publishes it (a shared sequencer, by a compare-and-swap in
    /// its database). On failure the state is rebuilt from the last signed checkpoint.
    pub fn prepare(&mut self, entries: &[Vec<u8>]) -> Result<Committed, Error> {
        let previous = self.checkpoint.clone();
        let result = self.write_batch(entries).and_then(|()| self.sign());
        if result.is_err() {
            self.tail.clear();
            self.reload(previous.as_bytes())?;
        }
        result
    }

    /// Step 1: integrate and write bundles and tiles (durable, not yet published).
    fn write_batch(&mut self, entries: &[Vec<u8>]) -> Result<(), Error> {
        if let Some(e) = entries.iter().find(|e| e.len() > tile::MAX_ENTRY_SIZE) {
            return Err(Error::EntryTooLarge {
                size: e.len(),
                max: tile::MAX_ENTRY_SIZE,
            });
        }
        let old = self.size();
        {
            let mut tree = self.tree.write().map_err(|_| poisoned())?;
            for e in entries {
                tree.push(leaf_hash(e));
            }
        }
        for (i, e) in entries.iter().enumerate() {
            self.tail.push(e.clone());
            if self.tail.len() as u64 == TILE_WIDTH {
                self.write_bundle((old + i as u64) / TILE_WIDTH, None)?;
                self.tail.clear();
            }
        }
        let new = self.size();
        if !self.tail.is_empty() && new > old {
            self.write_bundle(new / TILE_WIDTH, Some(self.tail.len() as u8))?;
        }
        self.write_hash_tiles(old, new)
    }

    fn write_bundle(&self, index: u64, partial: Option<u8>) -> Result<(), Error> {
        let path = TilePath {
            kind: TileKind::Entries,
            index,
            partial,
        };
        let bytes = tile::encode_bundle(self.tail.iter().map(Vec::as_slice))?;
        self.store
            .write(&path.to_string(), &bytes)
            .map_err(write_failed(path))
    }

    fn write_hash_tiles(&self, old: u64, new: u64) -> Result<(), Error> {
        let mut level = 0u32;
        loop {
            let shift = TILE_HEIGHT * level;
            let (before, after) = (old >> shift, new >> shift);
            if after == 0 {
                return Ok(());
            }
            if after > before {
                for index in before / TILE_WIDTH..=(after - 1) / TILE_WIDTH {
                    let start = index * TILE_WIDTH;
                    let width = (after - start).min(TILE_WIDTH);
                    let tree = self.tree();
                    let hashes: Vec<Hash> = (start..start + width)
                        .map(|k| tree.node(shift, k))
                        .collect::<Result<_, _>>()?;
                    drop(tree);
                    let partial = (width < TILE_WIDTH).then_some(width as u8);
                    let path = TilePath {
                        kind: TileKind::Hash(level as u8),
                        index,
                        partial,
                    };
                    self.store
                        .write(&path.to_string(), &tile::encode_hash_tile(&hashes))
                        .map_err(write_failed(path))?;
                }
            }
            level += 1;
        }
    }

    /// Step 2: sign a checkpoint for the current tree, if consistent with the last one.
    fn sign(&mut self) -> Result<Committed, Error> {
        let previous = Checkpoint::parse(Note::parse(self.checkpoint.as_bytes())?.text())?;
        // Never sign a tree that does not extend the published one.
        let (prefix_root, root) = {
            let tree = self.tree();
            (
                crate::merkle::range_root(&*tree, 0, previous.size)?,
                tree.root(),
            )
        };
        if prefix_root != previous.root {
            return Err(Error::Inconsistent(Inconsistency::WouldSignInconsistent));
        }
        let cp = Checkpoint {
            origin: self.origin.clone(),
            size: self.size(),
            root,
            extensions: vec![],
        };
        self.checkpoint = self.signer.sign(&cp.to_text())?;
        Ok(Committed {
            first_index: previous.size,
            checkpoint: self.checkpoint.clone(),
        })
    }

    /// Test hook: a batch whose tiles were written but whose checkpoint never was (a crash
    /// between the two steps).
    #[doc(hidden)]
    pub fn write_unpublished(&mut self, entries: &[Vec<u8>]) -> Result<(), Error> {
        self.write_batch(entries)
    }
}

/// A tile a checkpoint covers: missing means the storage lost data.
fn read_required(store: &dyn TileStore, t: &TilePath) -> Result<Vec<u8>, Error> {
    store
        .read(&t.to_string())
        .map_err(read_failed(t))?
        .ok_or_else(|| Error::Fetch {
            path: t.to_string(),
            failure: FetchFailure::Missing,
        })
}

/// Leaf hashes `from..to` of the log, from the level-0 tiles in `store` (tiles of a tree of
/// size `to`).
pub(crate) fn leaf_hashes(store: &dyn TileStore, from: u64, to: u64) -> Result<Vec<Hash>, Error> {
    let mut out = Vec::with_capacity(usize::try_from(to.saturating_sub(from)).unwrap_or(0));
    let mut at = from;
    while at < to {
        let index = at / TILE_WIDTH;
        let width = (to - index * TILE_WIDTH).min(TILE_WIDTH);
        let t = TilePath {
            kind: TileKind::Hash(0),
            index,
            partial: (width < TILE_WIDTH).then_some(width as u8),
        };
        let hashes = tile::decode_hash_tile(&read_required(store, &t)?, width)?;
        out.extend(hashes.into_iter().skip((at % TILE_WIDTH) as usize));
        at = index * TILE_WIDTH + width;
    }
    Ok(out)
}

/// Extends `tree` (a prefix of the log) to the checkpoint's size from the level-0 tiles in
/// `store`, and checks the root. On a mismatch `tree` holds extra leaves: callers discard
/// or rebuild it.
pub(crate) fn extend_tree(
    store: &dyn TileStore,
    tree: &mut MemoryTree,
    cp: &Checkpoint,
) -> Result<(), Error> {
    for h in leaf_hashes(store, tree.size(), cp.size)? {
        tree.push(h);
    }
    check_root(tree, cp)
}

/// The tree's root must be the checkpoint's.
pub(crate) fn check_root(tree: &MemoryTree, cp: &Checkpoint) -> Result<(), Error> {
    if tree.size() != cp.size || tree.root() != cp.root {
        return Err(Error::Inconsistent(
            Inconsistency::TilesDoNotMatchCheckpoint,
        ));
    }
    Ok(())
}

fn poisoned() -> Error {
    Error::Internal("a writer thread panicked".into())
}

/// Base64 of a hash, as checkpoints and proofs spell it.
pub fn b64(hash: &Hash) -> String {
    base64::engine::general_purpose::STANDARD.encode(hash)
}
