//! PE32 and PE32+: exports from the export table, pointers relative to the image base.

use goblin::pe::PE;

use crate::descriptor::{self, Limits};
use crate::error::{DescriptorDefect, Error};
use crate::image::{Image, Segment, slice_at};
use crate::{Architecture, Descriptor, FileType};

const MACHINE_I386: u16 = 0x14c;
const MACHINE_AMD64: u16 = 0x8664;
const MACHINE_ARM: u16 = 0x1c0;
const MACHINE_ARMNT: u16 = 0x1c4;
const MACHINE_ARM64: u16 = 0xaa64;

/// Addresses are RVAs; stored pointers are absolute and preferred-base relative, which the
/// loader's base relocations keep true wherever the image lands.
struct PeImage<'a> {
    data: &'a [u8],
    machine: u16,
    is_64: bool,
    image_base: u64,
    segments: Vec<Segment>,
}

/// Analyzes a PE file.
pub(crate) fn analyze(data: &[u8], limits: &Limits) -> Result<Vec<Descriptor>, Error> {
    let pe = PE::parse(data).map_err(|e| Error::Malformed(format!("PE: {e}")))?;
    let segments = pe
        .sections
        .iter()
        .map(|s| Segment {
            addr: u64::from(s.virtual_address),
            mem_size: u64::from(s.virtual_size),
            file_offset: u64::from(s.pointer_to_raw_data),
            file_size: if s.virtual_size == 0 {
                u64::from(s.size_of_raw_data)
            } else {
                u64::from(s.size_of_raw_data.min(s.virtual_size))
            },
        })
        .collect();
    let image = PeImage {
        data,
        machine: pe.header.coff_header.machine,
        is_64: pe.is_64,
        image_base: pe.image_base,
        segments,
    };
    let exports = pe
        .exports
        .iter()
        .filter_map(|e| Some((e.name?, e.rva as u64)));
    let mut out = Vec::new();
    descriptor::collect(&image, exports, limits, &mut out)?;
    Ok(out)
}

impl Image for PeImage<'_> {
    fn file_type(&self) -> FileType {
        FileType::Pe
    }

    fn architecture(&self) -> Architecture {
        match self.machine {
            MACHINE_I386 => Architecture::X86,
            MACHINE_AMD64 => Architecture::X86_64,
            MACHINE_ARM | MACHINE_ARMNT => Architecture::Arm,
            MACHINE_ARM64 => Architecture::Arm64,
            other => Architecture::Unknown(u32::from(other)),
        }
    }

    fn pointer_size(&self) -> u64 {
        if self.is_64 { 8 } else { 4 }
    }

    fn little_endian(&self) -> bool {
        true
    }

    fn bytes_at(&self, addr: u64, len: u64) -> Result<&[u8], DescriptorDefect> {
        slice_at(self.data, &self.segments, addr, len)
    }

    fn pointer_at(&self, addr: u64) -> Result<u64, DescriptorDefect> {
        let value = self.word_at(addr, self.pointer_size())?;
        value
            .checked_sub(self.image_base)
            .filter(|&rva| rva != 0)
            .ok_or(DescriptorDefect::UnresolvedPointer)
    }
}
