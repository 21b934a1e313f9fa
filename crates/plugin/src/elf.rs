//! ELF (32/64-bit, either byte order): exports from `.dynsym`, pointers through `REL`/`RELA`.

use std::collections::HashMap;

use goblin::elf::{Elf, header, program_header, section_header};

use crate::descriptor::{self, Limits};
use crate::error::{DescriptorDefect, Error};
use crate::image::{Image, Segment, slice_at};
use crate::{Architecture, Descriptor, FileType};

// Relocation types that store "load base + addend" (base is 0 for static analysis).
const RELATIVE: &[(u16, u32)] = &[
    (header::EM_X86_64, 8),     // R_X86_64_RELATIVE
    (header::EM_386, 8),        // R_386_RELATIVE
    (header::EM_AARCH64, 1027), // R_AARCH64_RELATIVE
    (header::EM_ARM, 23),       // R_ARM_RELATIVE
];
// Relocation types that store "symbol value + addend".
const ABSOLUTE: &[(u16, u32)] = &[
    (header::EM_X86_64, 1),     // R_X86_64_64
    (header::EM_X86_64, 6),     // R_X86_64_GLOB_DAT
    (header::EM_386, 1),        // R_386_32
    (header::EM_386, 6),        // R_386_GLOB_DAT
    (header::EM_AARCH64, 257),  // R_AARCH64_ABS64
    (header::EM_AARCH64, 1025), // R_AARCH64_GLOB_DAT
    (header::EM_ARM, 2),        // R_ARM_ABS32
    (header::EM_ARM, 21),       // R_ARM_GLOB_DAT
];

/// How the loader fills one pointer slot.
#[derive(Clone, Copy)]
enum Fixup {
    /// Store this value (explicit addend, or symbol + addend).
    Value(u64),
    /// Add this to the value already in the slot (REL: implicit addend).
    AddInPlace(u64),
    /// Binds to an undefined symbol: not knowable statically.
    Unresolved,
}

struct ElfImage<'a> {
    data: &'a [u8],
    machine: u16,
    is_64: bool,
    little_endian: bool,
    segments: Vec<Segment>,
    fixups: HashMap<u64, Fixup>,
}

/// Analyzes an ELF file.
pub(crate) fn analyze(data: &[u8], limits: &Limits) -> Result<Vec<Descriptor>, Error> {
    let elf = Elf::parse(data).map_err(|e| Error::Malformed(format!("ELF: {e}")))?;
    let image = ElfImage {
        data,
        machine: elf.header.e_machine,
        is_64: elf.is_64,
        little_endian: elf.little_endian,
        segments: segments(&elf),
        fixups: fixups(&elf),
    };
    let exports = elf
        .dynsyms
        .iter()
        .filter(|s| s.st_shndx != section_header::SHN_UNDEF as usize);
    let named = exports.filter_map(|s| Some((elf.dynstrtab.get_at(s.st_name)?, s.st_value)));
    let mut out = Vec::new();
    descriptor::collect(&image, named, limits, &mut out)?;
    Ok(out)
}

/// The loadable segments; section headers stand in for objects without program headers.
fn segments(elf: &Elf) -> Vec<Segment> {
    let loads: Vec<Segment> = elf
        .program_headers
        .iter()
        .filter(|p| p.p_type == program_header::PT_LOAD)
        .map(|p| Segment {
            addr: p.p_vaddr,
            mem_size: p.p_memsz,
            file_offset: p.p_offset,
            file_size: p.p_filesz,
        })
        .collect();
    if !loads.is_empty() {
        return loads;
    }
    elf.section_headers
        .iter()
        .filter(|s| s.sh_addr != 0)
        .map(|s| Segment {
            addr: s.sh_addr,
            mem_size: s.sh_size,
            file_offset: s.sh_offset,
            file_size: if s.sh_type == section_header::SHT_NOBITS {
                0
            } else {
                s.sh_size
            },
        })
        .collect()
}

/// Every dynamic relocation that targets a pointer slot, by slot address.
fn fixups(elf: &Elf) -> HashMap<u64, Fixup> {
    let machine = elf.header.e_machine;
    let is = |table: &[(u16, u32)], t: u32| table.iter().any(|&(m, r)| m == machine && r == t);
    let mut map = HashMap::new();
    let relocs = elf
        .dynrelas
        .iter()
        .chain(elf.dynrels.iter())
        .chain(elf.pltrelocs.iter());
    for r in relocs {
        let fixup = if is(RELATIVE, r.r_type) {
            match r.r_addend {
                Some(a) => Fixup::Value(a as u64),
                None => Fixup::AddInPlace(0),
            }
        } else if is(ABSOLUTE, r.r_type) {
            match elf.dynsyms.get(r.r_sym) {
                Some(s) if s.st_shndx != section_header::SHN_UNDEF as usize => match r.r_addend {
                    Some(a) => Fixup::Value(s.st_value.wrapping_add(a as u64)),
                    None => Fixup::AddInPlace(s.st_value),
                },
                _ => Fixup::Unresolved,
            }
        } else {
            continue;
        };
        map.insert(r.r_offset, fixup);
    }
    map
}

impl Image for ElfImage<'_> {
    fn file_type(&self) -> FileType {
        FileType::Elf
    }

    fn architecture(&self) -> Architecture {
        match self.machine {
            header::EM_386 => Architecture::X86,
            header::EM_X86_64 => Architecture::X86_64,
            header::EM_ARM => Architecture::Arm,
            header::EM_AARCH64 => Architecture::Arm64,
            other => Architecture::Unknown(u32::from(other)),
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
        let size = self.pointer_size();
        let mask = if size == 8 {
            u64::MAX
        } else {
            u64::from(u32::MAX)
        };
        let value = match self.fixups.get(&addr) {
            Some(Fixup::Value(v)) => *v,
            Some(Fixup::AddInPlace(base)) => base.wrapping_add(self.word_at(addr, size)?),
            Some(Fixup::Unresolved) => return Err(DescriptorDefect::UnresolvedPointer),
            None => self.word_at(addr, size)?,
        } & mask;
        if value == 0 {
            Err(DescriptorDefect::UnresolvedPointer)
        } else {
            Ok(value)
        }
    }
}
