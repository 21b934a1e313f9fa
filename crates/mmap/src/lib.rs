//! Read-only memory maps of whole files, for hashing and parsing artifacts that can be
//! hundreds of MiB without copying them into the heap.
//!
//! This crate and `cairn-secmem` are the only ones that may hold `unsafe` code; every other
//! crate is `#![forbid(unsafe_code)]`. Mapping a file is unsafe because the bytes can change
//! under the map: a concurrent write changes what is read (a check over them then fails,
//! no more), and a concurrent truncation makes reads past the new end fault (`SIGBUS`).
//! Callers map files they created and alone write (staging files, downloads in progress),
//! or a file a user asked to check, where a concurrent truncation by that user stops the
//! check.
#![deny(missing_docs)]
#![deny(unsafe_code)]

use std::fs::File;
use std::ops::Deref;

/// The bytes of a mapped file (an empty file maps to an empty slice: the OS refuses to map
/// zero bytes).
#[derive(Debug)]
pub struct Mapped(Option<memmap2::Mmap>);

impl Deref for Mapped {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.0.as_deref().unwrap_or_default()
    }
}

/// Maps all of `file` read-only, privately.
pub fn map(file: &File) -> std::io::Result<Mapped> {
    if file.metadata()?.len() == 0 {
        return Ok(Mapped(None));
    }
    // SAFETY: a read-only mapping never lets Rust write through it; what the crate docs
    // describe (concurrent writes or truncation by another party) is the callers' contract.
    #[allow(unsafe_code)]
    let map = unsafe { memmap2::Mmap::map(file)? };
    Ok(Mapped(Some(map)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::Write as _;

    #[test]
    fn maps_a_file_and_an_empty_one() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        assert_eq!(&*super::map(f.as_file()).unwrap(), b"");
        f.write_all(b"cairn").unwrap();
        f.flush().unwrap();
        assert_eq!(&*super::map(f.as_file()).unwrap(), b"cairn");
    }
}
