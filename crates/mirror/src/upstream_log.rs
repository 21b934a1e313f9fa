//! [`UpstreamLog`]: the mirror's verified copy of the upstream log's tree.
//!
//! The mirror keeps every leaf hash of the upstream log (its level-0 hash tiles, 32 bytes
//! an entry) and accepts a new checkpoint only when those leaves, the ones it held before
//! unchanged and the new ones after them, hash to the checkpoint's signed root. That one
//! check proves the new checkpoint extends every checkpoint the mirror accepted before, and
//! it makes the mirror able to answer any inclusion or consistency proof, and every hash
//! tile, for the upstream key, with the upstream stopped.
//!
//! On disk (`<dir>/log`, a C2SP tlog-tiles directory): the level-0 tiles, then the
//! checkpoint, written last: a crash between leaves the previous checkpoint over tiles that
//! still hold it. Entry bundles are kept as requests need them (all of them when mirroring
//! the whole log), each entry hashed against its leaf first.

use std::sync::{Arc, RwLock};

use cairn_tlog::merkle::{MemoryTree, NodeSource, leaf_hash};
use cairn_tlog::store::DirStore;
use cairn_tlog::tile::{self, TILE_WIDTH, TileKind, TilePath};
use cairn_tlog::{Checkpoint, Hash, NoteVerifier};

use crate::error::{Error, Lie};
use crate::upstream::Upstream;

/// Largest entry bundle taken from the upstream (256 entries of at most 64 KiB).
const MAX_BUNDLE_BYTES: usize = 256 * (2 + 65_535);

/// The tree as last verified.
#[derive(Clone, Debug)]
struct View {
    tree: MemoryTree,
    checkpoint: Option<(Checkpoint, Arc<str>)>,
}

/// The upstream log as far as the mirror has verified it.
#[derive(Debug)]
pub struct UpstreamLog {
    key: NoteVerifier,
    store: DirStore,
    view: RwLock<Arc<View>>,
    advancing: tokio::sync::Mutex<()>,
}

fn damaged(e: impl std::fmt::Display) -> Error {
    Error::Damaged(e.to_string())
}

/// The level-0 tile holding leaves `[256·index, 256·index + width)` of a tree of `size`.
fn leaf_tile(index: u64, size: u64) -> TilePath {
    let full = size / TILE_WIDTH;
    TilePath {
        kind: TileKind::Hash(0),
        index,
        partial: (index == full && size % TILE_WIDTH != 0).then_some((size % TILE_WIDTH) as u8),
    }
}

fn bundle_of(index: u64, size: u64) -> TilePath {
    TilePath {
        kind: TileKind::Entries,
        ..leaf_tile(index / TILE_WIDTH, size)
    }
}

impl UpstreamLog {
    /// Opens the copy in `dir`, checking its leaves against its checkpoint and that
    /// checkpoint against `key`.
    pub fn open(dir: &std::path::Path, key: NoteVerifier) -> Result<Self, Error> {
        let store = DirStore::open(dir).map_err(Error::io(format!("opening {}", dir.display())))?;
        let mut view = View {
            tree: MemoryTree::default(),
            checkpoint: None,
        };
        let read = |rel: &str| {
            store
                .read(rel)
                .map_err(Error::io(format!("reading {}/{rel}", dir.display())))
        };
        if let Some(text) = read("checkpoint")? {
            let checkpoint = cairn_tlog::verify::open_checkpoint(&text, &key).map_err(|e| {
                damaged(format!(
                    "its checkpoint is not signed by the upstream log key {}: {e}",
                    key.name()
                ))
            })?;
            let text: Arc<str> = String::from_utf8_lossy(&text).into();
            for index in 0..checkpoint.size.div_ceil(TILE_WIDTH) {
                let path = leaf_tile(index, checkpoint.size);
                let bytes = read(&path.to_string())?
                    .ok_or_else(|| damaged(format!("{path} is missing")))?;
                for h in tile::decode_hash_tile(&bytes, path.width()).map_err(damaged)? {
                    view.tree.push(h);
                }
            }
            if view.tree.root() != checkpoint.root {
                return Err(damaged(format!(
                    "its leaves do not hash to its checkpoint of {} entries",
                    checkpoint.size
                )));
            }
            view.checkpoint = Some((checkpoint, text));
        }
        Ok(UpstreamLog {
            key,
            store,
            view: RwLock::new(Arc::new(view)),
            advancing: tokio::sync::Mutex::new(()),
        })
    }

    fn view(&self) -> Arc<View> {
        self.view
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Entries verified.
    pub fn size(&self) -> u64 {
        self.view().tree.size()
    }

    /// The latest checkpoint verified, as the upstream signed it.
    pub fn checkpoint(&self) -> Option<Arc<str>> {
        self.view().checkpoint.as_ref().map(|(_, t)| t.clone())
    }

    /// The upstream log key.
    pub fn key(&self) -> &NoteVerifier {
        &self.key
    }

    /// The leaf hash at `index`, if verified.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        self.view().tree.node(0, index).ok()
    }

    /// Inclusion proof of `index` in the latest verified tree, and that tree's checkpoint:
    /// both from one view, so they always agree.
    pub fn proof_at_latest(&self, index: u64) -> Result<(Vec<Hash>, Arc<str>), Error> {
        let view = self.view();
        let Some((checkpoint, text)) = view.checkpoint.as_ref() else {
            return Err(damaged("no checkpoint is held"));
        };
        let proof = cairn_tlog::merkle::inclusion_proof(&view.tree, index, checkpoint.size)
            .map_err(damaged)?;
        Ok((proof, text.clone()))
    }

    /// The path of the entry bundle holding `index`, for the verified size.
    pub fn bundle_path(&self, index: u64) -> TilePath {
        bundle_of(index, self.size())
    }

    /// Inclusion proof of `index` in the tree of `size` (at most the verified size).
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, Error> {
        let view = self.view();
        if index >= size || size > view.tree.size() {
            return Err(Error::BadRequest(format!(
                "no proof of entry {index} in a tree of {size}: the mirror has verified {} entries",
                view.tree.size()
            )));
        }
        cairn_tlog::merkle::inclusion_proof(&view.tree, index, size).map_err(damaged)
    }

    /// Consistency proof between two sizes (at most the verified size).
    pub fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>, Error> {
        let view = self.view();
        if from > to || to > view.tree.size() {
            return Err(Error::BadRequest(format!(
                "no consistency proof from {from} to {to}: the mirror has verified {} entries",
                view.tree.size()
            )));
        }
        cairn_tlog::merkle::consistency_proof(&view.tree, from, to).map_err(damaged)
    }

    /// A hash tile the verified tree publishes, computed from its nodes (the same bytes the
    /// upstream serves); `None` when it publishes no such tile.
    pub fn hash_tile(&self, path: &TilePath) -> Option<Vec<u8>> {
        let TileKind::Hash(level) = path.kind else {
            return None;
        };
        let view = self.view();
        if !tile::is_published(path, view.tree.size()) {
            return None;
        }
        let merkle_level = u32::from(level) * tile::TILE_HEIGHT;
        let first = path.index.checked_mul(TILE_WIDTH)?;
        let hashes: Option<Vec<Hash>> = (first..first + path.width())
            .map(|i| view.tree.node(merkle_level, i).ok())
            .collect();
        Some(tile::encode_hash_tile(&hashes?))
    }

    /// An entry bundle the verified tree publishes, if kept.
    pub fn held_bundle(&self, path: &TilePath) -> Result<Option<Vec<u8>>, Error> {
        if path.kind != TileKind::Entries || !tile::is_published(path, self.size()) {
            return Ok(None);
        }
        // A full bundle also holds every partial one before it.
        for candidate in [
            *path,
            TilePath {
                partial: None,
                ..*path
            },
        ] {
            if let Some(bytes) = self.read_kept(&candidate)? {
                let entries = tile::decode_bundle(&bytes).map_err(damaged)?;
                let width = usize::try_from(path.width()).unwrap_or(usize::MAX);
                if entries.len() >= width {
                    return tile::encode_bundle(entries[..width].iter().copied())
                        .map(Some)
                        .map_err(damaged);
                }
            }
        }
        Ok(None)
    }

    fn read_kept(&self, path: &TilePath) -> Result<Option<Vec<u8>>, Error> {
        self.store
            .read(&path.to_string())
            .map_err(Error::io(format!("reading the mirror's {path}")))
    }

    /// The entry at `index` (verified), from a kept bundle or fetched from the upstream.
    pub async fn entry(&self, up: &Upstream, index: u64) -> Result<Option<Vec<u8>>, Error> {
        let size = self.size();
        if index >= size {
            return Ok(None);
        }
        let path = bundle_of(index, size);
        let bytes = match self.held_bundle(&path)? {
            Some(b) => b,
            None => self.fetch_bundle(up, &path).await?,
        };
        let entries = tile::decode_bundle(&bytes).map_err(damaged)?;
        Ok(entries
            .get(usize::try_from(index % TILE_WIDTH).unwrap_or(usize::MAX))
            .map(|e| e.to_vec()))
    }

    /// Fetches the bundle at `path` from the upstream (or the full one, if the upstream has
    /// moved past this size), checks every entry against its leaf and keeps it.
    pub async fn fetch_bundle(&self, up: &Upstream, path: &TilePath) -> Result<Vec<u8>, Error> {
        let bytes = up.tile_or_full(path, MAX_BUNDLE_BYTES).await?;
        let entries = tile::decode_bundle(&bytes)
            .map_err(|e| up.refused(Lie::Proof, format!("entry bundle {path}"), e.to_string()))?;
        let width = usize::try_from(path.width()).unwrap_or(usize::MAX);
        if entries.len() < width {
            return Err(up.refused(
                Lie::Proof,
                format!("entry bundle {path}"),
                format!("it holds {} entries, not {width}", entries.len()),
            ));
        }
        let first = path.index * TILE_WIDTH;
        let view = self.view();
        for (i, e) in entries[..width].iter().enumerate() {
            let index = first + i as u64;
            if view.tree.node(0, index).ok() != Some(leaf_hash(e)) {
                return Err(up.refused(
                    Lie::Proof,
                    format!("entry bundle {path}"),
                    format!("entry {index} is not the leaf the verified log holds"),
                ));
            }
        }
        let kept = tile::encode_bundle(entries[..width].iter().copied()).map_err(damaged)?;
        self.store
            .write(&path.to_string(), &kept)
            .map_err(Error::io(format!("keeping {path}")))?;
        Ok(kept)
    }

    /// Takes a checkpoint signed by the upstream key, if it extends (or is part of) the
    /// verified tree: fetches the new leaves, checks the tree's root against it, and keeps
    /// it. A checkpoint smaller than the verified tree is checked and kept out.
    pub async fn observe(&self, up: &Upstream, text: &str) -> Result<(), Error> {
        let checkpoint = cairn_tlog::verify::open_checkpoint(text.as_bytes(), &self.key)
            .map_err(|e| up.refused(Lie::Checkpoint, "a checkpoint".into(), e.to_string()))?;
        let _one = self.advancing.lock().await;
        let view = self.view();
        let held = view.tree.size();
        if checkpoint.size <= held {
            let root = cairn_tlog::merkle::root(&view.tree, checkpoint.size).map_err(damaged)?;
            if root != checkpoint.root {
                return Err(self.fork(up, &checkpoint, held));
            }
            return Ok(());
        }
        let mut tree = view.tree.clone();
        let mut fetched = Vec::new();
        for index in held / TILE_WIDTH..checkpoint.size.div_ceil(TILE_WIDTH) {
            let path = leaf_tile(index, checkpoint.size);
            let bytes = up.tile_or_full(&path, 32 * TILE_WIDTH as usize).await?;
            let bytes = bytes.get(..32 * path.width() as usize).unwrap_or(&bytes);
            let hashes = tile::decode_hash_tile(bytes, path.width()).map_err(|e| {
                up.refused(Lie::Checkpoint, format!("hash tile {path}"), e.to_string())
            })?;
            for (i, h) in hashes.iter().enumerate() {
                let leaf = index * TILE_WIDTH + i as u64;
                if leaf < held {
                    if tree.node(0, leaf).ok() != Some(*h) {
                        return Err(self.fork(up, &checkpoint, held));
                    }
                } else {
                    tree.push(*h);
                }
            }
            fetched.push((path, tile::encode_hash_tile(&hashes)));
        }
        if tree.root() != checkpoint.root {
            return Err(self.fork(up, &checkpoint, held));
        }
        self.keep(&fetched, text, held, checkpoint.size)?;
        let next = View {
            tree,
            checkpoint: Some((checkpoint, text.into())),
        };
        *self
            .view
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(next);
        Ok(())
    }

    fn fork(&self, up: &Upstream, checkpoint: &Checkpoint, held: u64) -> Error {
        up.refused(
            Lie::Checkpoint,
            format!("a checkpoint of {} entries", checkpoint.size),
            format!(
                "it is not consistent with the checkpoint of {held} entries the mirror verified before (a forked log, or tiles that do not hash to it)"
            ),
        )
    }

    /// Writes the new leaf tiles, then the checkpoint, then drops partial tiles of the old
    /// size that the new one no longer needs.
    fn keep(
        &self,
        tiles: &[(TilePath, Vec<u8>)],
        text: &str,
        old: u64,
        new: u64,
    ) -> Result<(), Error> {
        for (path, bytes) in tiles {
            self.store
                .write(&path.to_string(), bytes)
                .map_err(Error::io(format!("keeping {path}")))?;
        }
        self.store
            .write("checkpoint", text.as_bytes())
            .map_err(Error::io("keeping the checkpoint"))?;
        let stale = leaf_tile(old / TILE_WIDTH, old);
        if stale.partial.is_some() && stale != leaf_tile(stale.index, new) {
            let _ = std::fs::remove_file(self.store.root().join(stale.to_string()));
        }
        Ok(())
    }
}
