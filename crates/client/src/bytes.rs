//! Local files: reading a download without buffering it, and writing results atomically.

use std::io::Write as _;
use std::path::Path;

use crate::error::Error;

/// Runs `f` over the bytes of `path`, memory-mapped (a plugin can be hundreds of MiB): a
/// temporary file this process created and alone writes.
pub(crate) fn with_map<R>(path: &Path, f: impl FnOnce(&[u8]) -> R) -> Result<R, Error> {
    let file =
        std::fs::File::open(path).map_err(Error::io(format!("opening {}", path.display())))?;
    let map = cairn_mmap::map(&file).map_err(Error::io(format!("mapping {}", path.display())))?;
    Ok(f(&map))
}

/// Moves a verified temporary file to `target` (copying across filesystems, through a
/// staged name, so `target` appears whole or not at all).
pub(crate) fn persist(tmp: tempfile::NamedTempFile, target: &Path) -> Result<(), Error> {
    match tmp.persist(target) {
        Ok(_) => Ok(()),
        Err(e) => {
            let staged = target.with_extension("partial");
            std::fs::copy(e.file.path(), &staged)
                .and_then(|_| std::fs::File::open(&staged)?.sync_all())
                .and_then(|()| std::fs::rename(&staged, target))
                .map_err(Error::io(format!("writing {}", target.display())))
        }
    }
}

/// Writes `bytes` to `target` through a temporary file in the same directory.
pub(crate) fn write_atomically(target: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = target.parent().unwrap_or(Path::new("."));
    let what = || format!("writing {}", target.display());
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(Error::io(what()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(Error::io(what()))?;
    tmp.persist(target)
        .map_err(|e| Error::io(what())(e.error))?;
    Ok(())
}
