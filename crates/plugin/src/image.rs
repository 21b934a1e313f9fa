//! The view of a loaded image that descriptor decoding needs, common to all formats.

use crate::error::DescriptorDefect;
use crate::{Architecture, FileType};

/// A binary seen as its loader would map it, without mapping it.
///
/// Addresses are in the image's own address space (ELF virtual addresses, PE RVAs, Mach-O
/// vm addresses); implementations translate them to file offsets and refuse anything that
/// is not backed by file bytes.
pub(crate) trait Image {
    /// Container format.
    fn file_type(&self) -> FileType;
    /// CPU architecture.
    fn architecture(&self) -> Architecture;
    /// Pointer width in bytes (4 or 8).
    fn pointer_size(&self) -> u64;
    /// Byte order of the image.
    fn little_endian(&self) -> bool;
    /// `len` bytes at address `addr`, all of them present in the file.
    fn bytes_at(&self, addr: u64, len: u64) -> Result<&[u8], DescriptorDefect>;
    /// The address stored in the pointer slot at `addr`, after the loader's relocation.
    fn pointer_at(&self, addr: u64) -> Result<u64, DescriptorDefect>;

    /// An unsigned integer of `size` bytes (4 or 8) at `addr`, as stored in the file.
    fn word_at(&self, addr: u64, size: u64) -> Result<u64, DescriptorDefect> {
        let b = self.bytes_at(addr, size)?;
        Ok(read_word(b, self.little_endian()))
    }
}

/// Reads a 4- or 8-byte unsigned integer from exactly that many bytes.
pub(crate) fn read_word(b: &[u8], little_endian: bool) -> u64 {
    let mut buf = [0u8; 8];
    let n = b.len().min(8);
    if little_endian {
        buf[..n].copy_from_slice(&b[..n]);
        u64::from_le_bytes(buf)
    } else {
        buf[8 - n..].copy_from_slice(&b[..n]);
        u64::from_be_bytes(buf)
    }
}

/// One contiguous piece of the address space backed by file bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Segment {
    /// First address.
    pub addr: u64,
    /// Size in memory (may exceed `file_size`: the tail is zero-filled, like `.bss`).
    pub mem_size: u64,
    /// Offset of the first byte in the file.
    pub file_offset: u64,
    /// Bytes present in the file.
    pub file_size: u64,
}

/// Translates addresses through a segment table and refuses what the file does not hold.
pub(crate) fn slice_at<'a>(
    data: &'a [u8],
    segments: &[Segment],
    addr: u64,
    len: u64,
) -> Result<&'a [u8], DescriptorDefect> {
    let end = addr.checked_add(len).ok_or(DescriptorDefect::OutsideFile)?;
    let seg = segments
        .iter()
        .find(|s| addr >= s.addr && end <= s.addr.saturating_add(s.mem_size.max(s.file_size)))
        .ok_or(DescriptorDefect::OutsideFile)?;
    if end > seg.addr + seg.file_size {
        return Err(DescriptorDefect::OutsideFile);
    }
    let start = seg
        .file_offset
        .checked_add(addr - seg.addr)
        .ok_or(DescriptorDefect::OutsideFile)?;
    let start = usize::try_from(start).map_err(|_| DescriptorDefect::OutsideFile)?;
    let len = usize::try_from(len).map_err(|_| DescriptorDefect::OutsideFile)?;
    data.get(
        start
            ..start
                .checked_add(len)
                .ok_or(DescriptorDefect::OutsideFile)?,
    )
    .ok_or(DescriptorDefect::OutsideFile)
}
