//! Static analysis of memflow plugin binaries.
//!
//! A memflow plugin is a shared library (ELF, PE or Mach-O, thin or fat) that exports one
//! data symbol per plugin, named `MEMFLOW_CONNECTOR_<X>` or `MEMFLOW_OS_<X>`, holding a
//! `#[repr(C)] PluginDescriptor`. [`analyze`] finds those symbols and decodes each descriptor
//! without loading or running the library: pointers are resolved through the file's own
//! relocations (ELF `REL`/`RELA`, PE image base, Mach-O chained fixups), and every address
//! is checked against what the file really contains.
//!
//! ```
//! // Anything that is not an executable image is refused with a typed error.
//! let err = cairn_plugin::analyze(b"definitely not a binary").unwrap_err();
//! assert!(matches!(err, cairn_plugin::Error::UnknownFormat));
//! ```
//!
//! The crate is pure: it takes bytes and returns values, so fuzzers can drive it
//! (see [`fuzz_analyze`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod descriptor;
mod elf;
mod error;
mod image;
mod macho;
mod pe;

pub use descriptor::{DESCRIPTOR_SIZE_32, DESCRIPTOR_SIZE_64, Limits};
pub use error::{DescriptorDefect, Error};
// The descriptor types are wire types too: one definition, in cairn-api.
pub use cairn_api::descriptor::{Architecture, Descriptor, FileType, PluginKind};

/// Finds and decodes every plugin descriptor in a binary, with the default [`Limits`].
///
/// Returns descriptors in the file's own order: ELF `.dynsym` order, PE export-table order,
/// Mach-O export-trie order, fat Mach-O slice by slice. A binary without any descriptor yields
/// an empty list; deciding whether that is acceptable is the caller's business.
pub fn analyze(bytes: &[u8]) -> Result<Vec<Descriptor>, Error> {
    analyze_with(bytes, &Limits::default())
}

/// Like [`analyze`], with explicit limits on string lengths and descriptor count.
pub fn analyze_with(bytes: &[u8], limits: &Limits) -> Result<Vec<Descriptor>, Error> {
    let descriptors = match goblin::peek_bytes(&header_bytes(bytes)?)
        .map_err(|e| Error::Malformed(e.to_string()))?
    {
        goblin::Hint::Elf(_) => elf::analyze(bytes, limits)?,
        goblin::Hint::PE => pe::analyze(bytes, limits)?,
        goblin::Hint::Mach(_) | goblin::Hint::MachFat(_) => macho::analyze(bytes, limits)?,
        _ => return Err(Error::UnknownFormat),
    };
    descriptor::check_unique(&descriptors)?;
    Ok(descriptors)
}

/// The first 16 bytes, which `goblin::peek_bytes` needs to tell formats apart.
fn header_bytes(bytes: &[u8]) -> Result<[u8; 16], Error> {
    let mut head = [0u8; 16];
    match bytes.get(..16) {
        Some(b) => head.copy_from_slice(b),
        None => return Err(Error::UnknownFormat),
    }
    Ok(head)
}

/// Fuzzing entry point: analysis must never panic, and must be deterministic.
#[doc(hidden)]
pub fn fuzz_analyze(bytes: &[u8]) {
    let first = analyze(bytes);
    let second = analyze(bytes);
    assert_eq!(first, second, "analysis is not deterministic");
    if let Ok(descriptors) = first {
        for d in descriptors {
            assert!(d.name.len() <= Limits::default().max_string_len);
        }
    }
}
