//! Where a log's objects live: the [`TileStore`] trait, and [`DirStore`], a C2SP tlog-tiles
//! directory (`checkpoint`, `tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>…`).
//!
//! Every write goes to a temporary file that is fsynced, renamed into place, and followed by
//! an fsync of its directory: after `write` returns the object is whole and durable, and a
//! crash mid-write leaves the previous version (or nothing), never a torn file.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Storage of a log's objects by C2SP path.
///
/// Blocking on purpose: the log writer runs on its own thread and readers call it from
/// blocking tasks. An object, once written, must be whole: a reader never sees a torn write.
pub trait TileStore: Send + Sync + std::fmt::Debug {
    /// Reads an object; `None` when absent.
    fn read(&self, rel: &str) -> std::io::Result<Option<Vec<u8>>>;
    /// Writes an object atomically and durably, replacing any previous version.
    fn write(&self, rel: &str, bytes: &[u8]) -> std::io::Result<()>;
    /// Whether any object's path starts with `prefix` (`tile/`, or a tile's path, which also
    /// matches its partial versions): how a writer tells an empty log from a damaged one.
    fn has_any(&self, prefix: &str) -> std::io::Result<bool>;
    /// Reads `len` bytes of an object from `offset`; `None` when absent, an error when the
    /// object is shorter. The default reads the whole object; a store that can read a
    /// range (a file) reads only that.
    fn read_range(&self, rel: &str, offset: u64, len: usize) -> std::io::Result<Option<Vec<u8>>> {
        let Some(all) = self.read(rel)? else {
            return Ok(None);
        };
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        all.get(start..start.saturating_add(len))
            .map(|b| Some(b.to_vec()))
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))
    }
}

impl<T: TileStore + ?Sized> TileStore for std::sync::Arc<T> {
    fn has_any(&self, prefix: &str) -> std::io::Result<bool> {
        (**self).has_any(prefix)
    }

    fn read(&self, rel: &str) -> std::io::Result<Option<Vec<u8>>> {
        (**self).read(rel)
    }

    fn write(&self, rel: &str, bytes: &[u8]) -> std::io::Result<()> {
        (**self).write(rel, bytes)
    }

    fn read_range(&self, rel: &str, offset: u64, len: usize) -> std::io::Result<Option<Vec<u8>>> {
        (**self).read_range(rel, offset, len)
    }
}

impl TileStore for DirStore {
    fn has_any(&self, prefix: &str) -> std::io::Result<bool> {
        DirStore::has_any(self, prefix)
    }

    fn read(&self, rel: &str) -> std::io::Result<Option<Vec<u8>>> {
        DirStore::read(self, rel)
    }

    fn write(&self, rel: &str, bytes: &[u8]) -> std::io::Result<()> {
        DirStore::write(self, rel, bytes)
    }

    fn read_range(&self, rel: &str, offset: u64, len: usize) -> std::io::Result<Option<Vec<u8>>> {
        let file = match File::open(self.path(rel)?) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut out = vec![0; len];
        std::os::unix::fs::FileExt::read_exact_at(&file, &mut out, offset)?;
        Ok(Some(out))
    }
}

/// A log directory on the local filesystem.
#[derive(Clone, Debug)]
pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    /// A store rooted at `root` (created if missing).
    pub fn open(root: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(root.join("tile"))?;
        Ok(DirStore {
            root: root.to_path_buf(),
        })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, rel: &str) -> std::io::Result<PathBuf> {
        // Only paths this crate builds reach here; refuse anything that could escape.
        if rel
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Err(std::io::Error::other(format!("refusing path {rel:?}")));
        }
        Ok(self.root.join(rel))
    }

    /// Whether any object's path starts with `prefix` (a directory, or a file and the
    /// `.p/` partials beside it).
    pub fn has_any(&self, prefix: &str) -> std::io::Result<bool> {
        let prefix = prefix.trim_end_matches('/');
        let path = self.path(prefix)?;
        if path.is_file() {
            return Ok(true);
        }
        let partials = PathBuf::from(format!("{}.p", path.display()));
        for dir in [path, partials] {
            match std::fs::read_dir(&dir) {
                Ok(mut entries) => {
                    if entries
                        .any(|e| e.is_ok_and(|e| !e.file_name().to_string_lossy().starts_with('.')))
                    {
                        return Ok(true);
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                    ) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(false)
    }

    /// Reads an object; `None` when absent.
    pub fn read(&self, rel: &str) -> std::io::Result<Option<Vec<u8>>> {
        match std::fs::read(self.path(rel)?) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes an object atomically and durably, replacing any previous version.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> std::io::Result<()> {
        let path = self.path(rel)?;
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        if !dir.exists() {
            std::fs::create_dir_all(&dir)?;
            // Make the new directories themselves durable, up to the store root.
            let mut d = dir.as_path();
            while let Some(parent) = d.parent() {
                File::open(parent)?.sync_all()?;
                if parent == self.root {
                    break;
                }
                d = parent;
            }
        }
        let tmp = dir.join(format!(
            ".{}.tmp",
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("object")
        ));
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        File::open(&dir)?.sync_all()
    }
}
