//! memflow's `#[repr(C)] PluginDescriptor`, decoded from an [`Image`].
//!
//! Layout (memflow 0.2): `i32 plugin_version`, `bool accept_input`, two pointers
//! (`input_layout`, `output_layout`), three `CSliceRef<u8>` (pointer, length) for name,
//! version and description, then three function pointers. That is 0x60 bytes with 8-byte
//! pointers and 0x34 bytes with 4-byte pointers.

use std::collections::HashSet;

use crate::error::{DescriptorDefect, Error};
use crate::image::Image;
use crate::{Descriptor, PluginKind};

/// Size of a descriptor in a 64-bit image.
pub const DESCRIPTOR_SIZE_64: u64 = 0x60;
/// Size of a descriptor in a 32-bit image.
pub const DESCRIPTOR_SIZE_32: u64 = 0x34;

/// Bounds that keep a hostile binary from making the analyzer do absurd work.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Longest accepted name, version or description, in bytes.
    pub max_string_len: usize,
    /// Most descriptors accepted in one file (all slices of a fat binary together).
    pub max_descriptors: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_string_len: 16 * 1024,
            max_descriptors: 256,
        }
    }
}

/// Decodes the descriptor exported as `export` at address `addr`.
pub(crate) fn decode(
    image: &dyn Image,
    export: &str,
    kind: PluginKind,
    addr: u64,
    limits: &Limits,
) -> Result<Descriptor, Error> {
    let fail = |defect| Error::descriptor(export, defect);
    let ptr = image.pointer_size();
    let size = if ptr == 8 {
        DESCRIPTOR_SIZE_64
    } else {
        DESCRIPTOR_SIZE_32
    };
    // The whole struct must be file-backed: a zero-initialised symbol in .bss is not a plugin.
    image.bytes_at(addr, size).map_err(fail)?;

    let plugin_version = image.word_at(addr, 4).map_err(fail)? as u32 as i32;
    let slices = addr + 8 + 2 * ptr;
    let string = |index: u64| read_str(image, slices + index * 2 * ptr, limits).map_err(fail);
    Ok(Descriptor {
        plugin_kind: kind,
        export_name: export.to_owned(),
        file_type: image.file_type(),
        architecture: image.architecture(),
        plugin_version,
        name: string(0)?,
        version: string(1)?,
        description: string(2)?,
    })
}

/// Reads a `CSliceRef<u8>` (pointer, length) at `slot` as UTF-8.
fn read_str(image: &dyn Image, slot: u64, limits: &Limits) -> Result<String, DescriptorDefect> {
    let ptr = image.pointer_size();
    let len = image.word_at(slot + ptr, ptr)?;
    if len > limits.max_string_len as u64 {
        return Err(DescriptorDefect::AbsurdLength);
    }
    if len == 0 {
        return Ok(String::new());
    }
    let target = image.pointer_at(slot)?;
    let bytes = image
        .bytes_at(target, len)
        .map_err(|_| DescriptorDefect::StringOutOfBounds)?;
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| DescriptorDefect::InvalidUtf8)
}

/// Refuses two descriptors of the same kind with the same name: a registry could not tell
/// which one a user asked for. A connector and an OS layer may share a name.
pub(crate) fn check_unique(descriptors: &[Descriptor]) -> Result<(), Error> {
    let mut seen = HashSet::new();
    for d in descriptors {
        // Slices of one fat binary legitimately repeat a descriptor per architecture.
        if !seen.insert((d.plugin_kind, d.name.as_str(), d.architecture)) {
            return Err(Error::DuplicateName {
                kind: d.plugin_kind,
                name: d.name.clone(),
            });
        }
    }
    Ok(())
}

/// Collects descriptors for every exported symbol that names one, enforcing the count limit.
pub(crate) fn collect<'a>(
    image: &dyn Image,
    exports: impl Iterator<Item = (&'a str, u64)>,
    limits: &Limits,
    out: &mut Vec<Descriptor>,
) -> Result<(), Error> {
    for (name, addr) in exports {
        let Some(kind) = PluginKind::from_export(name) else {
            continue;
        };
        if out.len() >= limits.max_descriptors {
            return Err(Error::TooManyDescriptors(limits.max_descriptors));
        }
        out.push(decode(image, name, kind, addr, limits)?);
    }
    Ok(())
}
