//! Examining one entry: metadata, content digests, link target, attributes, inode flags.

use std::cell::RefCell;
use std::fs::{File, Metadata, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use sha2::{Digest as _, Sha256};
use xattr::FileExt;

use crate::record::{EntryType, Record};
use crate::xattrs;

/// What to compute besides metadata.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Options {
    /// Also compute BLAKE3 of regular files.
    pub blake3: bool,
}

const READ_BUFFER: usize = 256 * 1024;

thread_local! {
    static BUFFER: RefCell<Vec<u8>> = RefCell::new(vec![0; READ_BUFFER]);
}

/// Records `path` (never following a final symlink). Problems are recorded, not returned.
///
/// `regular_hint` says the directory listing reported a regular file: it is then opened
/// straight away and `fstat`ed, saving an `lstat` per file. If it is no longer a regular
/// file by then, the general path below takes over.
pub(crate) fn examine(path: &Path, regular_hint: bool, options: Options) -> Record {
    let mut record = Record::new(path);
    if regular_hint {
        if let Ok(file) = open(path, false) {
            if let Ok(meta) = file.metadata() {
                if meta.file_type().is_file() {
                    fill_metadata(&mut record, &meta);
                    hash_file(file, &mut record, options);
                    return record;
                }
            }
        }
    }
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) => {
            record.kind = Some(EntryType::Unknown);
            record.error = Some(describe(&e, "stat"));
            return record;
        }
    };
    fill_metadata(&mut record, &meta);
    match record.kind {
        Some(EntryType::File) => examine_file(path, &mut record, options),
        Some(EntryType::Dir) => match open(path, true) {
            Ok(dir) => attributes_of_file(&dir, &mut record),
            Err(e) => record.error = Some(describe(&e, "open")),
        },
        Some(EntryType::Symlink) => match std::fs::read_link(path) {
            Ok(target) => record.set_target(&target),
            Err(e) => record.error = Some(describe(&e, "readlink")),
        },
        // Devices, fifos and sockets are never opened: opening a fifo blocks, a device may act.
        _ => attributes_by_path(path, &mut record),
    }
    record
}

fn examine_file(path: &Path, record: &mut Record, options: Options) {
    let file = match open(path, false) {
        Ok(f) => f,
        Err(e) => {
            record.error = Some(describe(&e, "open"));
            attributes_by_path(path, record);
            return;
        }
    };
    // The opened file is what gets hashed: take its metadata, in case the path changed.
    if let Ok(meta) = file.metadata() {
        fill_metadata(record, &meta);
    }
    hash_file(file, record, options);
}

/// Attributes, flags and content digests of an open regular file.
fn hash_file(mut file: File, record: &mut Record, options: Options) {
    attributes_of_file(&file, record);
    let mut sha = Sha256::new();
    let mut b3 = options.blake3.then(blake3::Hasher::new);
    let read = BUFFER.with(|buffer| -> std::io::Result<()> {
        let mut buffer = buffer.borrow_mut();
        loop {
            let n = match file.read(&mut buffer) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            sha.update(&buffer[..n]);
            if let Some(b3) = b3.as_mut() {
                b3.update(&buffer[..n]);
            }
        }
    });
    match read {
        Ok(()) => {
            record.sha256 = Some(hex::encode(sha.finalize()));
            record.blake3 = b3.map(|h| h.finalize().to_hex().to_string());
        }
        Err(e) => record.error = Some(describe(&e, "read")),
    }
}

/// Opens without following a final symlink and, where allowed, without touching atime.
fn open(path: &Path, dir: bool) -> std::io::Result<File> {
    let flags = libc::O_NOFOLLOW | libc::O_CLOEXEC | if dir { libc::O_DIRECTORY } else { 0 };
    match OpenOptions::new()
        .read(true)
        .custom_flags(flags | libc::O_NOATIME)
        .open(path)
    {
        // O_NOATIME is refused for files we do not own (unless privileged): retry without.
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
            OpenOptions::new().read(true).custom_flags(flags).open(path)
        }
        other => other,
    }
}

fn fill_metadata(record: &mut Record, meta: &Metadata) {
    let mode = meta.mode();
    let kind = EntryType::from_mode(mode);
    record.kind = Some(kind);
    record.mode = Some(mode);
    record.uid = Some(meta.uid());
    record.gid = Some(meta.gid());
    record.size = Some(meta.size());
    record.nlink = Some(meta.nlink());
    record.ino = Some(meta.ino());
    record.dev = Some(meta.dev());
    record.mtime_ns =
        Some(i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()));
    record.ctime_ns =
        Some(i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()));
    if matches!(kind, EntryType::Char | EntryType::Block) {
        let rdev = meta.rdev();
        let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
        let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
        record.rdev = Some((major as u32, minor as u32));
    }
}

fn attributes_of_file(file: &File, record: &mut Record) {
    if let Ok(names) = file.list_xattr() {
        for name in names {
            let Some(name) = name.to_str() else { continue };
            if xattrs::wanted(name) {
                if let Ok(Some(value)) = file.get_xattr(name) {
                    xattrs::apply(record, name, &value);
                }
            }
        }
    }
    record.flags = inode_flags(file);
}

fn attributes_by_path(path: &Path, record: &mut Record) {
    if let Ok(names) = xattr::list(path) {
        for name in names {
            let Some(name) = name.to_str() else { continue };
            if xattrs::wanted(name) {
                if let Ok(Some(value)) = xattr::get(path, name) {
                    xattrs::apply(record, name, &value);
                }
            }
        }
    }
}

/// `immutable` / `append` where the filesystem supports inode flags and they are set.
fn inode_flags(file: &File) -> Option<Vec<String>> {
    use rustix::fs::IFlags;
    let flags = rustix::fs::ioctl_getflags(file).ok()?;
    let mut out = Vec::new();
    if flags.contains(IFlags::IMMUTABLE) {
        out.push("immutable".to_owned());
    }
    if flags.contains(IFlags::APPEND) {
        out.push("append".to_owned());
    }
    (!out.is_empty()).then_some(out)
}

/// A per-entry error as recorded: what failed and why, in words a reader can act on.
fn describe(e: &std::io::Error, what: &str) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "vanished during the scan".to_owned(),
        std::io::ErrorKind::PermissionDenied => format!("permission denied ({what})"),
        _ => format!("{what}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vanished_entry_is_a_record_with_its_error() {
        let dir = tempfile::tempdir().unwrap();
        let r = examine(&dir.path().join("gone"), false, Options::default());
        assert_eq!(r.error.as_deref(), Some("vanished during the scan"));
        let r = examine(&dir.path().join("gone"), true, Options::default());
        assert_eq!(r.kind, Some(EntryType::Unknown));
        assert_eq!(r.error.as_deref(), Some("vanished during the scan"));
    }
}
