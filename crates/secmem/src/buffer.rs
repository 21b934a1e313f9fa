//! `LockedBuffer`: a secret in guarded, locked memory.

use std::io::Read;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use subtle::ConstantTimeEq;

use crate::enclave::Enclave;
use crate::error::Error;
use crate::region::{Backing, Region};
use crate::registry;
use crate::sys;

/// Shared state of one buffer: `purge` may destroy it from another thread.
pub(crate) struct Cell {
    slot: RwLock<Slot>,
}

struct Slot {
    region: Option<Region>,
    frozen: bool,
}

impl Cell {
    fn read(&self) -> RwLockReadGuard<'_, Slot> {
        self.slot
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Slot> {
        self.slot
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Wipes and unmaps the region; later reads see an empty buffer.
    pub(crate) fn destroy(&self) {
        let region = self.write().region.take();
        drop(region);
    }
}

/// A secret held in guarded memory: guard pages on both sides, a canary below, pages locked
/// in RAM, excluded from core dumps and from forked children, wiped before release.
///
/// Nothing hands the secret out as an ordinary `Vec` or `String`: reads borrow it in place.
/// Dropping the buffer destroys it.
pub struct LockedBuffer {
    cell: Arc<Cell>,
    id: u64,
    len: usize,
}

impl std::fmt::Debug for LockedBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LockedBuffer({} bytes)", self.len)
    }
}

/// Read access to a buffer's bytes; empty once the buffer is destroyed.
pub struct Bytes<'a> {
    slot: RwLockReadGuard<'a, Slot>,
}

impl Deref for Bytes<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.slot.region.as_ref().map_or(&[], Region::data)
    }
}

impl Bytes<'_> {
    /// The bytes as a fixed-size array, if the length is exactly `N`.
    pub fn as_array<const N: usize>(&self) -> Option<&[u8; N]> {
        (**self).try_into().ok()
    }

    /// The bytes as a slice of `T`, if length and alignment allow (the data ends at a page
    /// boundary, so it is aligned whenever its length is a multiple of `T`'s alignment).
    pub fn cast<T: bytemuck::Pod>(&self) -> Option<&[T]> {
        bytemuck::try_cast_slice(self).ok()
    }
}

/// Write access to a buffer's bytes.
pub struct BytesMut<'a> {
    slot: RwLockWriteGuard<'a, Slot>,
}

impl Deref for BytesMut<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.slot.region.as_ref().map_or(&[], Region::data)
    }
}

impl DerefMut for BytesMut<'_> {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.slot.region.as_mut().map_or(&mut [], Region::data_mut)
    }
}

impl BytesMut<'_> {
    /// The bytes as a mutable slice of `T`, if length and alignment allow.
    pub fn cast_mut<T: bytemuck::Pod>(&mut self) -> Option<&mut [T]> {
        bytemuck::try_cast_slice_mut(self).ok()
    }
}

impl LockedBuffer {
    /// A zeroed buffer of `len` bytes.
    pub fn new(len: usize) -> Result<Self, Error> {
        let region = Region::new(len)?;
        let cell = Arc::new(Cell {
            slot: RwLock::new(Slot {
                region: Some(region),
                frozen: false,
            }),
        });
        let id = registry::add_buffer(&cell);
        Ok(LockedBuffer { cell, id, len })
    }

    /// A buffer of `len` random bytes from the kernel's CSPRNG, written in place.
    pub fn random(len: usize) -> Result<Self, Error> {
        let mut b = Self::new(len)?;
        b.scramble()?;
        Ok(b)
    }

    /// A buffer holding a copy of `src`; `src` is wiped.
    pub fn from_bytes(src: &mut [u8]) -> Result<Self, Error> {
        let mut b = Self::new(src.len())?;
        b.move_from(src)?;
        Ok(b)
    }

    /// Reads up to `max` bytes (fewer at end of input) straight into locked memory.
    pub fn from_reader(reader: &mut impl Read, max: usize) -> Result<Self, Error> {
        let mut b = Self::new(max)?;
        let n = fill(&mut b.bytes_mut()?, reader)?;
        b.truncated(n)
    }

    /// Reads until `delim` (not kept) or end of input; more than `max` bytes is an error.
    /// Reads one byte at a time so nothing past the delimiter is consumed.
    pub fn from_reader_until(reader: &mut impl Read, delim: u8, max: usize) -> Result<Self, Error> {
        let mut b = Self::new(max.max(1))?;
        let mut n = 0;
        {
            let mut out = b.bytes_mut()?;
            loop {
                let mut byte = [0u8; 1];
                match reader.read(&mut byte) {
                    Ok(0) => break,
                    Ok(_) if byte[0] == delim => break,
                    Ok(_) if n == max => {
                        sys::wipe(&mut byte);
                        return Err(Error::TooLarge { limit: max });
                    }
                    Ok(_) => {
                        out[n] = byte[0];
                        n += 1;
                        sys::wipe(&mut byte);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(Error::Read(e)),
                }
            }
        }
        b.truncated(n)
    }

    /// Reads to end of input; more than `max` bytes is an error. The buffer grows by
    /// doubling, each step a fresh locked buffer, so no partial copy is left behind.
    pub fn from_reader_to_eof(reader: &mut impl Read, max: usize) -> Result<Self, Error> {
        let mut cap = sys::page_size().min(max.max(1));
        let mut b = Self::new(cap)?;
        let mut n = 0;
        loop {
            n += fill(&mut b.bytes_mut()?[n..], reader)?;
            if n < cap {
                return b.truncated(n);
            }
            if cap >= max {
                // Full at the limit: anything more is too much.
                let mut probe = [0u8; 1];
                return match reader.read(&mut probe) {
                    Ok(0) => b.truncated(n),
                    Ok(_) => {
                        sys::wipe(&mut probe);
                        Err(Error::TooLarge { limit: max })
                    }
                    Err(e) => Err(Error::Read(e)),
                };
            }
            cap = (cap * 2).min(max);
            let mut bigger = Self::new(cap)?;
            bigger.copy_from(&b.bytes())?;
            b = bigger;
        }
    }

    /// This buffer cut to its first `n` bytes (a new buffer; this one is destroyed).
    fn truncated(self, n: usize) -> Result<Self, Error> {
        if n == self.len {
            return Ok(self);
        }
        let mut b = Self::new(n)?;
        b.copy_from(&self.bytes()[..n])?;
        Ok(b)
    }

    /// Length in bytes (as created, even after destruction).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true: empty buffers cannot be made. Here for the usual `len` pairing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the buffer still holds its memory (not destroyed nor purged).
    pub fn is_alive(&self) -> bool {
        self.cell.read().region.is_some()
    }

    /// Whether the buffer is read-only.
    pub fn is_frozen(&self) -> bool {
        self.cell.read().frozen
    }

    /// Where the inner pages come from.
    pub fn backing(&self) -> Option<Backing> {
        self.cell.read().region.as_ref().map(Region::backing)
    }

    /// Read access; an empty slice once destroyed.
    pub fn bytes(&self) -> Bytes<'_> {
        Bytes {
            slot: self.cell.read(),
        }
    }

    /// Write access; refused when frozen or destroyed.
    pub fn bytes_mut(&mut self) -> Result<BytesMut<'_>, Error> {
        let slot = self.cell.write();
        if slot.region.is_none() {
            return Err(Error::Destroyed);
        }
        if slot.frozen {
            return Err(Error::Frozen);
        }
        Ok(BytesMut { slot })
    }

    /// Makes the buffer read-only: a write through any pointer faults.
    pub fn freeze(&self) -> Result<(), Error> {
        self.set_frozen(true)
    }

    /// Makes a frozen buffer writable again.
    pub fn melt(&self) -> Result<(), Error> {
        self.set_frozen(false)
    }

    fn set_frozen(&self, frozen: bool) -> Result<(), Error> {
        let mut slot = self.cell.write();
        let region = slot.region.as_mut().ok_or(Error::Destroyed)?;
        region.protect(frozen)?;
        slot.frozen = frozen;
        Ok(())
    }

    /// Constant-time comparison with `other` (the length is not secret).
    pub fn ct_eq(&self, other: &[u8]) -> bool {
        let b = self.bytes();
        b.len() == other.len() && bool::from(b.ct_eq(other))
    }

    /// Constant-time comparison with another buffer.
    pub fn ct_eq_buffer(&self, other: &LockedBuffer) -> bool {
        self.ct_eq(&other.bytes())
    }

    /// Copies `src` to the start of the buffer (at most the buffer's length); returns the
    /// bytes copied. The copy does not branch on the data.
    pub fn copy_from(&mut self, src: &[u8]) -> Result<usize, Error> {
        self.copy_at(0, &src[..src.len().min(self.len)])?;
        Ok(src.len().min(self.len))
    }

    /// Copies `src` to `offset`; all of it must fit.
    pub fn copy_at(&mut self, offset: usize, src: &[u8]) -> Result<(), Error> {
        let size = self.len;
        let range = offset
            .checked_add(src.len())
            .filter(|&end| end <= size)
            .map(|end| offset..end)
            .ok_or(Error::Range {
                offset,
                len: src.len(),
                size,
            })?;
        self.bytes_mut()?[range].copy_from_slice(src);
        Ok(())
    }

    /// Copies `src` in (as `copy_from`), then wipes `src`.
    pub fn move_from(&mut self, src: &mut [u8]) -> Result<usize, Error> {
        let n = self.copy_from(src);
        sys::wipe(src);
        n
    }

    /// Zeroes the bytes.
    pub fn wipe(&mut self) -> Result<(), Error> {
        sys::wipe(&mut self.bytes_mut()?);
        Ok(())
    }

    /// Overwrites the bytes with random ones.
    pub fn scramble(&mut self) -> Result<(), Error> {
        sys::fill_random(&mut self.bytes_mut()?)
    }

    /// Wipes and releases the memory now.
    pub fn destroy(self) {
        drop(self);
    }

    /// Encrypts the secret into an [`Enclave`] and destroys this buffer.
    pub fn seal(self) -> Result<Enclave, Error> {
        Enclave::seal(self)
    }
}

impl Drop for LockedBuffer {
    fn drop(&mut self) {
        self.cell.destroy();
        registry::remove_buffer(self.id);
    }
}

/// Reads into `out` until it is full or the input ends; returns the bytes read.
fn fill(out: &mut [u8], reader: &mut impl Read) -> Result<usize, Error> {
    let mut n = 0;
    while n < out.len() {
        match reader.read(&mut out[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::Read(e)),
        }
    }
    Ok(n)
}
