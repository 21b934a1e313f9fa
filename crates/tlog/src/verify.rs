//! Auditing a whole log: any C2SP tlog-tiles log, read through a [`Fetcher`].
//!
//! The checkpoint's signature is checked, every entry bundle is hashed, every hash tile is
//! recomputed and compared, and the root must equal the checkpoint's. With an earlier
//! checkpoint, the earlier tree must be a prefix of this one: checked by recomputing its root
//! from the same leaves, which proves consistency without trusting a proof.

use crate::checkpoint::Checkpoint;
use crate::error::{Error, FetchFailure, Inconsistency};
use crate::merkle::{Hash, MemoryTree, NodeSource, leaf_hash, range_root};
use crate::note::{Note, NoteVerifier};
use crate::tile::{self, TILE_HEIGHT, TILE_WIDTH, TileKind};

/// Reads log objects by their C2SP path (`checkpoint`, `tile/0/000`, …).
pub trait Fetcher {
    /// The object's bytes; `None` when it does not exist.
    fn fetch(&self, path: &str) -> Result<Option<Vec<u8>>, Error>;
}

impl<T: crate::store::TileStore + ?Sized> Fetcher for T {
    fn fetch(&self, path: &str) -> Result<Option<Vec<u8>>, Error> {
        self.read(path).map_err(|e| Error::Fetch {
            path: path.to_owned(),
            failure: FetchFailure::Io(e),
        })
    }
}

/// A log that passed [`verify_log`].
#[derive(Clone, Debug)]
pub struct Verified {
    /// Verified tree size.
    pub size: u64,
    /// Verified root.
    pub root: Hash,
    /// The checkpoint as served (to save for the next `--since`).
    pub checkpoint: Vec<u8>,
}

fn need(f: &dyn Fetcher, path: &str) -> Result<Vec<u8>, Error> {
    f.fetch(path)?.ok_or_else(|| Error::Fetch {
        path: path.to_owned(),
        failure: FetchFailure::Missing,
    })
}

/// Parses and verifies a signed checkpoint.
pub fn open_checkpoint(bytes: &[u8], key: &NoteVerifier) -> Result<Checkpoint, Error> {
    let note = Note::parse(bytes)?;
    note.verify(std::slice::from_ref(key))?;
    Checkpoint::parse(note.text())
}

/// Verifies the whole log behind `f` against the log key, and its consistency with an
/// earlier checkpoint if one is given.
pub fn verify_log(
    f: &dyn Fetcher,
    key: &NoteVerifier,
    since: Option<&[u8]>,
) -> Result<Verified, Error> {
    let bytes = need(f, "checkpoint")?;
    let cp = open_checkpoint(&bytes, key)?;
    let tiles = tile::tiles_for_size(cp.size);
    let mut tree = MemoryTree::default();
    for t in tiles.iter().filter(|t| t.kind == TileKind::Entries) {
        let path = t.to_string();
        let data = need(f, &path)?;
        let entries = tile::decode_bundle(&data)?;
        if entries.len() as u64 != t.width() {
            return Err(Error::Inconsistent(Inconsistency::EntryCount {
                path,
                expected: t.width(),
                found: entries.len() as u64,
            }));
        }
        entries.iter().for_each(|e| tree.push(leaf_hash(e)));
    }
    for t in &tiles {
        let TileKind::Hash(level) = t.kind else {
            continue;
        };
        let path = t.to_string();
        let stored = tile::decode_hash_tile(&need(f, &path)?, t.width())?;
        for (i, h) in stored.iter().enumerate() {
            let expected = tree.node(
                TILE_HEIGHT * u32::from(level),
                t.index * TILE_WIDTH + i as u64,
            )?;
            if *h != expected {
                return Err(Error::Inconsistent(Inconsistency::TileHash {
                    path,
                    index: i,
                }));
            }
        }
    }
    if tree.root() != cp.root {
        return Err(Error::Inconsistent(Inconsistency::RootMismatch));
    }
    if let Some(old) = since {
        let old_cp = open_checkpoint(old, key)?;
        if old_cp.size > cp.size {
            return Err(Error::Inconsistent(Inconsistency::Shrank {
                from: old_cp.size,
                to: cp.size,
            }));
        }
        if range_root(&tree, 0, old_cp.size)? != old_cp.root {
            return Err(Error::Inconsistent(Inconsistency::NotAPrefix {
                old_size: old_cp.size,
                new_size: cp.size,
                old: String::from_utf8_lossy(old).into_owned(),
                new: String::from_utf8_lossy(&bytes).into_owned(),
            }));
        }
    }
    Ok(Verified {
        size: cp.size,
        root: cp.root,
        checkpoint: bytes,
    })
}
