//! Filesystem integrity scanning: record every entry of a tree, then say what changed.
//!
//! - [`Scanner`] walks one or more roots in parallel and makes a [`Record`] per entry:
//!   type, full mode (setuid, setgid, sticky), owner, size, links, inode, device, times in
//!   nanoseconds, SHA-256 (and optionally BLAKE3) of regular files, symlink targets, device
//!   numbers, selected extended attributes (file capabilities decoded, IMA, SELinux, POSIX
//!   ACLs decoded), inode flags (immutable, append-only). An entry that cannot be read is
//!   still a record, carrying its error: nothing is skipped silently.
//! - [`Manifest`] writes and reads the JSON-lines form: a header (host, roots, times, tool,
//!   options), one line per entry sorted by path, and a trailer with the entry count and the
//!   SHA-256 of every byte before it, so truncation or editing is detected.
//! - [`diff`] compares two manifests and flags first what matters for security: new or
//!   changed setuid/setgid files, new world-writable entries, new file capabilities and
//!   content changes in system binary directories.
//!
//! ```no_run
//! let scan = cairn_scan::Scanner::new(vec!["/usr/bin".into()]).scan()?;
//! let mut out = Vec::new();
//! cairn_scan::Manifest::write(&scan, &mut out)?;
//! let back = cairn_scan::Manifest::read(&out[..])?;
//! assert_eq!(back.records.len(), scan.records.len());
//! # Ok::<(), cairn_scan::Error>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod diff;
mod entry;
mod error;
mod manifest;
mod record;
mod walk;
mod xattrs;

pub use diff::{Change, ChangeKind, Diff, Flag, diff};
pub use error::Error;
pub use manifest::{Header, Manifest, Scan, Trailer};
pub use record::{Capability, EntryType, Record, path_bytes};
pub use walk::Scanner;
