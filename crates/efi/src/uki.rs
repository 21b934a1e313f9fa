//! Unified kernel images: systemd's EFI stub with the kernel, initrd, command line and
//! os-release added as PE sections (`.linux`, `.initrd`, `.cmdline`, `.osrel`, …), as
//! `ukify` and `objcopy --add-section` build them. The result is one PE image that Secure
//! Boot verifies as a whole, so the command line and initrd are covered by the signature.
//!
//! [`plan`] is pure: it returns the stub with its headers rewritten and where each part's
//! bytes go, so the caller streams the (large) kernel and initrd into place instead of
//! holding them in memory.

use crate::error::Error;
use crate::pe::Layout;

/// Size of one section-table entry.
const SECTION_ENTRY: usize = 40;
/// IMAGE_SCN_CNT_INITIALIZED_DATA | IMAGE_SCN_MEM_READ: what ukify gives added sections.
const DATA_READ: u32 = 0x4000_0040;

/// One section to add: its name (at most 8 bytes, e.g. `.linux`) and its size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// Section name.
    pub name: String,
    /// Its contents' length in bytes.
    pub size: u64,
}

/// How to write the unified image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The stub with the new section headers in place: the image's first bytes.
    pub head: Vec<u8>,
    /// The file offset of each part's contents, in the order given.
    pub offsets: Vec<u64>,
    /// The image's total length (the last part padded to the file alignment).
    pub len: u64,
}

fn bad(why: impl Into<String>) -> Error {
    Error::Uki(why.into())
}

fn field(bytes: &[u8], at: usize, n: usize) -> Result<u64, Error> {
    let b = at
        .checked_add(n)
        .and_then(|end| bytes.get(at..end))
        .ok_or_else(|| bad(format!("a header field at byte {at} is past the end")))?;
    Ok(b.iter().rev().fold(0u64, |v, x| (v << 8) | u64::from(*x)))
}

fn put(bytes: &mut [u8], at: usize, n: usize, value: u64) {
    for (i, b) in bytes[at..at + n].iter_mut().enumerate() {
        *b = (value >> (8 * i)) as u8;
    }
}

fn align(value: u64, to: u64) -> Result<u64, Error> {
    value
        .checked_next_multiple_of(to)
        .ok_or_else(|| bad("the image would be larger than 4 GiB"))
}

fn u32_of(value: u64) -> Result<u64, Error> {
    if value > u64::from(u32::MAX) {
        return Err(bad("the image would be larger than 4 GiB"));
    }
    Ok(value)
}

/// Plans adding `parts` to `stub` (an unsigned PE32+ image with room in its headers for
/// the new section entries). Each part's section follows the stub's last one, at the next
/// section-aligned address and file-aligned offset.
pub fn plan(stub: &[u8], parts: &[Part]) -> Result<Plan, Error> {
    let layout = Layout::of(stub)?;
    if layout.cert_table.is_some() {
        return Err(bad(
            "the stub is signed: remove its signatures first (cairn efi unsign); the unified image is signed as a whole",
        ));
    }
    let pe = field(stub, 0x3c, 4)? as usize;
    let coff = pe + 4;
    let count = field(stub, coff + 2, 2)? as usize;
    let opt = coff + 20;
    let table = opt + field(stub, coff + 16, 2)? as usize;
    let section_align = field(stub, opt + 32, 4)?;
    let file_align = field(stub, opt + 36, 4)?;
    if !section_align.is_power_of_two() || !file_align.is_power_of_two() {
        return Err(bad(
            "the stub's section or file alignment is not a power of two",
        ));
    }
    let mut end_va = 0u64;
    let mut end_raw = layout.headers_end as u64;
    let mut first_data = layout.headers_end as u64;
    let mut names = Vec::new();
    for i in 0..count {
        let entry = table + i * SECTION_ENTRY;
        let vsize = field(stub, entry + 8, 4)?;
        let va = field(stub, entry + 12, 4)?;
        let raw = field(stub, entry + 16, 4)?;
        let offset = field(stub, entry + 20, 4)?;
        end_va = end_va.max(va + vsize.max(raw));
        if raw > 0 {
            first_data = first_data.min(offset);
            end_raw = end_raw.max(offset + raw);
        }
        names.push(stub.get(entry..entry + 8).unwrap_or_default().to_vec());
    }
    let new_table_end = table + (count + parts.len()) * SECTION_ENTRY;
    if new_table_end as u64 > first_data {
        return Err(bad(format!(
            "the stub's headers have room for {} more sections, not {}",
            (first_data as usize).saturating_sub(table + count * SECTION_ENTRY) / SECTION_ENTRY,
            parts.len()
        )));
    }
    let free = &stub[table + count * SECTION_ENTRY..new_table_end];
    if free.iter().any(|b| *b != 0) {
        return Err(bad("the space after the stub's section table is not empty"));
    }
    let mut head = stub[..keep(stub, coff, end_raw)?].to_vec();
    if head.len() < stub.len() {
        put(&mut head, coff + 8, 8, 0);
    }
    let mut va = align(end_va, section_align)?;
    let mut at = align(head.len() as u64, file_align)?;
    let mut offsets = Vec::with_capacity(parts.len());
    let mut initialized = field(stub, opt + 8, 4)?;
    for (i, part) in parts.iter().enumerate() {
        let name = part.name.as_bytes();
        if name.is_empty() || name.len() > 8 {
            return Err(bad(format!(
                "section name {:?} is not 1 to 8 bytes",
                part.name
            )));
        }
        let mut padded = [0u8; 8];
        padded[..name.len()].copy_from_slice(name);
        if names.iter().any(|n| n.as_slice() == padded) {
            return Err(bad(format!("the stub already has a {} section", part.name)));
        }
        names.push(padded.to_vec());
        let raw = align(part.size, file_align)?;
        let entry = table + (count + i) * SECTION_ENTRY;
        head[entry..entry + 8].copy_from_slice(&padded);
        put(&mut head, entry + 8, 4, u32_of(part.size)?);
        put(&mut head, entry + 12, 4, u32_of(va)?);
        put(&mut head, entry + 16, 4, u32_of(raw)?);
        put(&mut head, entry + 20, 4, u32_of(at)?);
        put(&mut head, entry + 36, 4, u64::from(DATA_READ));
        offsets.push(at);
        initialized = u32_of(initialized + raw)?;
        va = align(va + part.size.max(1), section_align)?;
        at = u32_of(at + raw)?;
    }
    put(&mut head, coff + 2, 2, (count + parts.len()) as u64);
    put(&mut head, opt + 8, 4, initialized);
    put(&mut head, opt + 56, 4, u32_of(va)?);
    // The stub's checksum no longer holds; firmware ignores it, and signing sets it again.
    put(&mut head, layout.checksum, 4, 0);
    Ok(Plan {
        head,
        offsets,
        len: at,
    })
}

/// How much of the stub to keep: all of it, or, when a COFF symbol table (deprecated in
/// images, and in Debian's stub) follows the last section, everything before it. New
/// sections must follow the last one directly: Authenticode hashes sections, then what
/// follows the last, so bytes left between sections would be hashed by tools that hash the
/// file through (osslsigncode) and not by the firmware, and the two would disagree.
fn keep(stub: &[u8], coff: usize, end_raw: u64) -> Result<usize, Error> {
    let symbols = field(stub, coff + 8, 4)?;
    let len = stub.len() as u64;
    if len <= end_raw {
        return Ok(stub.len());
    }
    if symbols >= end_raw && symbols < len {
        return Ok(end_raw as usize);
    }
    Err(bad(format!(
        "the stub has {} bytes after its last section that are not a symbol table",
        len - end_raw
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal PE32+ image: headers of 0x400 bytes, one `.text` section.
    pub(crate) fn tiny_stub() -> Vec<u8> {
        let mut b = vec![0u8; 0x600];
        b[0..2].copy_from_slice(b"MZ");
        put(&mut b, 0x3c, 4, 0x80);
        b[0x80..0x84].copy_from_slice(b"PE\0\0");
        let coff = 0x84;
        put(&mut b, coff, 2, 0x8664);
        put(&mut b, coff + 2, 2, 1);
        put(&mut b, coff + 16, 2, 240);
        let opt = coff + 20;
        put(&mut b, opt, 2, 0x20b);
        put(&mut b, opt + 32, 4, 0x1000);
        put(&mut b, opt + 36, 4, 0x200);
        put(&mut b, opt + 56, 4, 0x2000);
        put(&mut b, opt + 60, 4, 0x400);
        put(&mut b, opt + 108, 4, 16);
        let s = opt + 240;
        b[s..s + 5].copy_from_slice(b".text");
        put(&mut b, s + 8, 4, 0x10);
        put(&mut b, s + 12, 4, 0x1000);
        put(&mut b, s + 16, 4, 0x200);
        put(&mut b, s + 20, 4, 0x400);
        b
    }

    #[test]
    fn sections_follow_the_stub_aligned() {
        let stub = tiny_stub();
        let parts = [
            Part {
                name: ".cmdline".into(),
                size: 5,
            },
            Part {
                name: ".linux".into(),
                size: 0x1234,
            },
        ];
        let plan = plan(&stub, &parts).unwrap();
        assert_eq!(plan.offsets, vec![0x600, 0x800]);
        assert_eq!(plan.len, 0x800 + 0x1400);
        let table = 0x84 + 20 + 240 + 40;
        assert_eq!(&plan.head[table..table + 8], b".cmdline");
        assert_eq!(field(&plan.head, table + 12, 4).unwrap(), 0x2000);
        assert_eq!(field(&plan.head, table + 40 + 12, 4).unwrap(), 0x3000);
        assert_eq!(field(&plan.head, 0x86, 2).unwrap(), 3, "section count");
        assert_eq!(
            field(&plan.head, 0x98 + 56, 4).unwrap(),
            0x5000,
            "SizeOfImage"
        );
    }

    #[test]
    fn a_trailing_symbol_table_is_dropped_and_other_trailing_data_refused() {
        let part = [Part {
            name: ".linux".into(),
            size: 3,
        }];
        let mut stub = tiny_stub();
        stub.extend_from_slice(&[7; 100]);
        let err = plan(&stub, &part).unwrap_err().to_string();
        assert!(err.contains("not a symbol table"), "{err}");
        put(&mut stub, 0x84 + 8, 4, 0x600);
        put(&mut stub, 0x84 + 12, 4, 5);
        let plan = plan(&stub, &part).unwrap();
        assert_eq!(plan.head.len(), 0x600);
        assert_eq!(plan.offsets, vec![0x600], "no gap before the new section");
        assert_eq!(
            field(&plan.head, 0x84 + 8, 8).unwrap(),
            0,
            "no symbol table"
        );
    }

    #[test]
    fn refuses_what_it_cannot_place() {
        let stub = tiny_stub();
        let part = |name: &str| Part {
            name: name.into(),
            size: 1,
        };
        assert!(plan(&stub, &[part(".text")]).is_err(), "duplicate name");
        assert!(plan(&stub, &[part(".waytoolong")]).is_err());
        let many: Vec<Part> = (0..20).map(|i| part(&format!(".s{i}"))).collect();
        let err = plan(&stub, &many).unwrap_err().to_string();
        assert!(err.contains("room for"), "{err}");
        for cut in [0, 0x40, 0x100, 0x3ff] {
            assert!(plan(&stub[..cut], &[part(".x")]).is_err());
        }
    }
}
