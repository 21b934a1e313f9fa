//! C2SP tlog-tiles: paths, hash tiles and entry bundles.
//!
//! A level-`L` hash tile `N` holds up to 256 Merkle nodes of level `8·L`, indices
//! `256·N ..`; a partial tile (fewer than 256) has the suffix `.p/<W>`. Entry bundle `N`
//! holds entries `256·N ..`, each prefixed by its length as a big-endian u16.

use std::fmt;

use crate::error::{Defect, Error};
use crate::merkle::Hash;

/// Merkle levels per tile level.
pub const TILE_HEIGHT: u32 = 8;
/// Hashes in a full tile, entries in a full bundle.
pub const TILE_WIDTH: u64 = 256;
/// Largest entry an entry bundle can hold.
pub const MAX_ENTRY_SIZE: usize = u16::MAX as usize;

/// Which kind of tile a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TileKind {
    /// A hash tile of this tile level (0 ..= 63).
    Hash(u8),
    /// An entry bundle.
    Entries,
}

/// A tile path: `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TilePath {
    /// Hash tile or entry bundle.
    pub kind: TileKind,
    /// Tile index.
    pub index: u64,
    /// Width of a partial tile (1 ..= 255); `None` for a full tile.
    pub partial: Option<u8>,
}

impl TilePath {
    /// Parses the part of a URL after the log prefix, e.g. `tile/0/x001/234.p/7`.
    pub fn parse(path: &str) -> Option<Self> {
        let rest = path.strip_prefix("tile/")?;
        let (level, rest) = rest.split_once('/')?;
        let kind = if level == "entries" {
            TileKind::Entries
        } else {
            if level.is_empty() || level.len() > 2 || (level.len() > 1 && level.starts_with('0')) {
                return None;
            }
            let l: u8 = level.parse().ok()?;
            if l > 63 {
                return None;
            }
            TileKind::Hash(l)
        };
        let (index, partial) = match rest.split_once(".p/") {
            Some((index, width)) => {
                if width.is_empty()
                    || width.starts_with('0')
                    || !width.bytes().all(|b| b.is_ascii_digit())
                {
                    return None;
                }
                let w: u16 = width.parse().ok()?;
                (index, Some(u8::try_from(w).ok().filter(|w| *w > 0)?))
            }
            None => (rest, None),
        };
        Some(TilePath {
            kind,
            index: parse_index(index)?,
            partial,
        })
    }

    /// Number of hashes or entries the tile holds.
    pub fn width(&self) -> u64 {
        self.partial.map_or(TILE_WIDTH, u64::from)
    }
}

impl fmt::Display for TilePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TileKind::Hash(l) => write!(f, "tile/{l}/{}", encode_index(self.index))?,
            TileKind::Entries => write!(f, "tile/entries/{}", encode_index(self.index))?,
        }
        if let Some(w) = self.partial {
            write!(f, ".p/{w}")?;
        }
        Ok(())
    }
}

/// Every tile and entry bundle a tree of `size` entries publishes, full or partial.
///
/// Level `l` has `size / 256^(l+1)` full tiles and, when `size / 256^l mod 256` is not zero,
/// one partial tile of that width; empty tiles do not exist.
pub fn tiles_for_size(size: u64) -> Vec<TilePath> {
    let mut out = Vec::new();
    let mut level: u8 = 0;
    let mut nodes = size; // nodes at Merkle level 8·level
    while nodes > 0 {
        let full = nodes / TILE_WIDTH;
        let rest = (nodes % TILE_WIDTH) as u8;
        let mut push = |kind| {
            out.extend((0..full).map(|index| TilePath {
                kind,
                index,
                partial: None,
            }));
            if rest > 0 {
                out.push(TilePath {
                    kind,
                    index: full,
                    partial: Some(rest),
                });
            }
        };
        push(TileKind::Hash(level));
        if level == 0 {
            push(TileKind::Entries);
        }
        nodes = full;
        level += 1;
    }
    out
}

/// Whether a tree of `size` entries publishes this tile: the same answer as looking the path
/// up in [`tiles_for_size`], in constant time (tiles are served on every read).
pub fn is_published(path: &TilePath, size: u64) -> bool {
    let level = match path.kind {
        TileKind::Hash(l) => u32::from(l),
        TileKind::Entries => 0,
    };
    let Some(nodes) = size.checked_shr(TILE_HEIGHT * level) else {
        return false;
    };
    let (full, rest) = (nodes / TILE_WIDTH, nodes % TILE_WIDTH);
    match path.partial {
        None => path.index < full,
        Some(w) => path.index == full && u64::from(w) == rest,
    }
}

/// Writes a tile index as 3-digit groups, all but the last prefixed with `x`:
/// 1234067 → `x001/x234/067`.
pub fn encode_index(n: u64) -> String {
    let digits = n.to_string();
    let padded = format!("{}{digits}", "0".repeat((3 - digits.len() % 3) % 3));
    let groups: Vec<&str> = (0..padded.len())
        .step_by(3)
        .map(|i| &padded[i..i + 3])
        .collect();
    let last = groups.len() - 1;
    groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            if i < last {
                format!("x{g}")
            } else {
                (*g).to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Parses the form written by [`encode_index`]; refuses any other spelling, so one tile
/// has one path.
pub fn parse_index(s: &str) -> Option<u64> {
    let parts: Vec<&str> = s.split('/').collect();
    let (last, init) = parts.split_last()?;
    let mut digits = String::new();
    for p in init {
        let g = p.strip_prefix('x')?;
        if g.len() != 3 || !g.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.push_str(g);
    }
    if last.len() != 3 || !last.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.push_str(last);
    if init.first().is_some_and(|g| *g == "x000") {
        return None;
    }
    digits.parse().ok()
}

/// Encodes a hash tile: the hashes back to back.
pub fn encode_hash_tile(hashes: &[Hash]) -> Vec<u8> {
    hashes.concat()
}

/// Decodes a hash tile of `width` hashes.
pub fn decode_hash_tile(bytes: &[u8], width: u64) -> Result<Vec<Hash>, Error> {
    if bytes.len() as u64 != width * 32 {
        return Err(Error::Malformed {
            what: "hash tile",
            defect: Defect::Length {
                field: "tile",
                expected: usize::try_from(width.saturating_mul(32)).unwrap_or(usize::MAX),
                found: bytes.len(),
            },
        });
    }
    Ok(bytes
        .chunks_exact(32)
        .map(|c| c.try_into().unwrap_or([0; 32]))
        .collect())
}

/// Encodes an entry bundle; fails on an entry over [`MAX_ENTRY_SIZE`].
pub fn encode_bundle<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    for e in entries {
        let len = u16::try_from(e.len()).map_err(|_| Error::EntryTooLarge {
            size: e.len(),
            max: MAX_ENTRY_SIZE,
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Decodes an entry bundle; every byte must belong to an entry.
pub fn decode_bundle(bytes: &[u8]) -> Result<Vec<&[u8]>, Error> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let bad = || Error::Malformed {
            what: "entry bundle",
            defect: Defect::Truncated("entry"),
        };
        let len_bytes = rest.get(..2).ok_or_else(bad)?;
        let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
        let entry = rest.get(2..2 + len).ok_or_else(bad)?;
        out.push(entry);
        rest = &rest[2 + len..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_encoding() {
        for (n, s) in [
            (0, "000"),
            (7, "007"),
            (999, "999"),
            (1000, "x001/000"),
            (1234067, "x001/x234/067"),
            (u64::MAX, "x018/x446/x744/x073/x709/x551/615"),
        ] {
            assert_eq!(encode_index(n), s);
            assert_eq!(parse_index(s), Some(n), "{s}");
        }
        for bad in [
            "", "1", "0001", "x1/000", "x000/001", "001/x002", "x001/00a", "x001/", "/001",
        ] {
            assert_eq!(parse_index(bad), None, "{bad}");
        }
    }

    #[test]
    fn paths_round_trip_and_refuse_other_spellings() {
        for p in [
            "tile/0/000",
            "tile/0/x001/234.p/7",
            "tile/3/x123/x456/789",
            "tile/entries/000.p/255",
            "tile/63/001",
            "tile/entries/x002/000",
        ] {
            let t = TilePath::parse(p).unwrap_or_else(|| panic!("{p}"));
            assert_eq!(t.to_string(), p);
        }
        for bad in [
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/07",
            "tile/64/000",
            "tile/01/000",
            "tile/x/000",
            "tiles/0/000",
            "tile/0/000.p/",
            "tile/0/..%2F",
        ] {
            assert_eq!(TilePath::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn is_published_agrees_with_the_tile_set() {
        for size in [0u64, 1, 255, 256, 257, 511, 512, 65_535, 65_536, 70_000] {
            let set = tiles_for_size(size);
            for t in &set {
                assert!(is_published(t, size), "{t} at {size}");
            }
            for level in 0..4u8 {
                for kind in [TileKind::Hash(level), TileKind::Entries] {
                    for index in 0..300u64 {
                        for partial in [None, Some(1u8), Some(112), Some(255)] {
                            let t = TilePath {
                                kind,
                                index,
                                partial,
                            };
                            assert_eq!(is_published(&t, size), set.contains(&t), "{t} at {size}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn bundles_round_trip_and_detect_truncation() {
        let entries: Vec<&[u8]> = vec![b"", b"a", &[7u8; 300]];
        let bundle = encode_bundle(entries.iter().copied()).unwrap();
        assert_eq!(decode_bundle(&bundle).unwrap(), entries);
        for cut in 1..bundle.len() {
            if cut == 2 || cut == 5 {
                continue; // entry boundaries: a shorter valid bundle
            }
            assert!(decode_bundle(&bundle[..cut]).is_err(), "cut at {cut}");
        }
        assert!(encode_bundle([&vec![0u8; 65_536][..]]).is_err());
    }
}
