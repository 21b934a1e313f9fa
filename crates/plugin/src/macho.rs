//! Mach-O, thin and fat: exports from the export trie, pointers through chained fixups.

mod chained;
mod exports;

use goblin::mach::load_command::CommandVariant;
use goblin::mach::{Mach, MachO, cputype};

use crate::descriptor::{self, Limits};
use crate::error::{DescriptorDefect, Error};
use crate::image::{Image, Segment, slice_at};
use crate::{Architecture, Descriptor, FileType};
use chained::ChainedFixups;

struct MachImage<'a> {
    data: &'a [u8],
    cputype: u32,
    is_64: bool,
    little_endian: bool,
    segments: Vec<Segment>,
    /// Address of the Mach header: chained-fixup offsets and export addresses count from it.
    base: u64,
    chained: Option<ChainedFixups>,
}

/// Analyzes a thin or fat Mach-O file; a fat file yields the descriptors of every slice.
pub(crate) fn analyze(data: &[u8], limits: &Limits) -> Result<Vec<Descriptor>, Error> {
    let mut out = Vec::new();
    match Mach::parse(data).map_err(malformed)? {
        Mach::Binary(macho) => analyze_slice(data, &macho, limits, &mut out)?,
        Mach::Fat(fat) => {
            for arch in fat.iter_arches() {
                let arch = arch.map_err(malformed)?;
                let slice = usize::try_from(arch.offset)
                    .ok()
                    .zip(usize::try_from(arch.size).ok())
                    .and_then(|(off, len)| data.get(off..off.checked_add(len)?))
                    .ok_or_else(|| Error::Malformed("Mach-O: fat slice past end of file".into()))?;
                let macho = MachO::parse(slice, 0).map_err(malformed)?;
                analyze_slice(slice, &macho, limits, &mut out)?;
            }
        }
    }
    Ok(out)
}

fn malformed(e: goblin::error::Error) -> Error {
    Error::Malformed(format!("Mach-O: {e}"))
}

fn analyze_slice(
    data: &[u8],
    macho: &MachO,
    limits: &Limits,
    out: &mut Vec<Descriptor>,
) -> Result<(), Error> {
    let segments: Vec<Segment> = macho
        .segments
        .iter()
        .map(|s| Segment {
            addr: s.vmaddr,
            mem_size: s.vmsize,
            file_offset: s.fileoff,
            file_size: s.filesize,
        })
        .collect();
    let base = macho
        .segments
        .iter()
        .find(|s| s.fileoff == 0 && s.filesize != 0)
        .map_or(0, |s| s.vmaddr);
    let chained = macho
        .load_commands
        .iter()
        .find_map(|lc| match &lc.command {
            CommandVariant::DyldChainedFixups(cmd) => Some(cmd),
            _ => None,
        })
        .map(|cmd| ChainedFixups::parse(data, cmd.dataoff, cmd.datasize, &segments))
        .transpose()?;
    let image = MachImage {
        data,
        cputype: macho.header.cputype,
        is_64: macho.is_64,
        little_endian: macho.little_endian,
        segments,
        base,
        chained,
    };
    let exports = match export_trie(macho, data) {
        Some(trie) => exports::read(trie)?,
        None => Vec::new(),
    };
    let named = exports
        .iter()
        .map(|(name, offset)| (name.as_str(), base.wrapping_add(*offset)));
    descriptor::collect(&image, named, limits, out)
}

/// The export trie's bytes, from `LC_DYLD_INFO(_ONLY)` or `LC_DYLD_EXPORTS_TRIE`.
fn export_trie<'a>(macho: &MachO, data: &'a [u8]) -> Option<&'a [u8]> {
    let (off, size) = macho
        .load_commands
        .iter()
        .find_map(|lc| match &lc.command {
            CommandVariant::DyldInfo(c) | CommandVariant::DyldInfoOnly(c) if c.export_size > 0 => {
                Some((c.export_off, c.export_size))
            }
            CommandVariant::DyldExportsTrie(c) => Some((c.dataoff, c.datasize)),
            _ => None,
        })?;
    let start = off as usize;
    // A trie that points outside the file reads as empty, then fails as truncated.
    Some(
        data.get(start..start.checked_add(size as usize)?)
            .unwrap_or(&[]),
    )
}

impl Image for MachImage<'_> {
    fn file_type(&self) -> FileType {
        FileType::Mach
    }

    fn architecture(&self) -> Architecture {
        match self.cputype {
            cputype::CPU_TYPE_X86 => Architecture::X86,
            cputype::CPU_TYPE_X86_64 => Architecture::X86_64,
            cputype::CPU_TYPE_ARM => Architecture::Arm,
            cputype::CPU_TYPE_ARM64 => Architecture::Arm64,
            other => Architecture::Unknown(other),
        }
    }

    fn pointer_size(&self) -> u64 {
        if self.is_64 { 8 } else { 4 }
    }

    fn little_endian(&self) -> bool {
        self.little_endian
    }

    fn bytes_at(&self, addr: u64, len: u64) -> Result<&[u8], DescriptorDefect> {
        slice_at(self.data, &self.segments, addr, len)
    }

    fn pointer_at(&self, addr: u64) -> Result<u64, DescriptorDefect> {
        let raw = self.word_at(addr, self.pointer_size())?;
        let value = match &self.chained {
            Some(fixups) => fixups.resolve(addr, raw, self.base)?,
            // Classic dyld info: the slot holds the unslid address; binds leave it zero.
            None => raw,
        };
        if value == 0 {
            Err(DescriptorDefect::UnresolvedPointer)
        } else {
            Ok(value)
        }
    }
}
