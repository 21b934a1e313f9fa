//! Where the fields Authenticode cares about sit in a PE/COFF image: the checksum, the
//! certificate-table directory entry, the headers' end, and each section's raw data.
//! Every offset is checked against the file, so a hostile image is an error, not a panic.

use goblin::pe::header::Header;

use crate::error::Error;

/// Magic of a PE32+ optional header (PE32 is 0x10b).
const PE32_PLUS: u16 = 0x20b;
/// The PE signature and COFF file header before the optional header.
const SIGNATURE_AND_COFF: usize = 4 + 20;
/// Size of one section-table entry.
const SECTION_ENTRY: usize = 40;

/// The layout of an image, as far as its Authenticode digest needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Offset of the optional header's CheckSum field (4 bytes).
    pub checksum: usize,
    /// Offset of the certificate-table data directory entry (8 bytes).
    pub cert_dir: usize,
    /// SizeOfHeaders: the first section's data may start no earlier.
    pub headers_end: usize,
    /// `(offset, size)` of every section's raw data, in file order.
    pub sections: Vec<(usize, usize)>,
    /// `(offset, size)` of the certificate table, when the image has one.
    pub cert_table: Option<(usize, usize)>,
}

fn bad(why: impl Into<String>) -> Error {
    Error::Pe(why.into())
}

fn u32_at(bytes: &[u8], at: usize) -> Result<u32, Error> {
    let field = at
        .checked_add(4)
        .and_then(|end| bytes.get(at..end))
        .ok_or_else(|| bad(format!("a field at byte {at} is past the end")))?;
    Ok(u32::from_le_bytes([field[0], field[1], field[2], field[3]]))
}

impl Layout {
    /// Reads the layout of `image`.
    pub(crate) fn of(image: &[u8]) -> Result<Layout, Error> {
        let header = Header::parse(image).map_err(|e| bad(e.to_string()))?;
        let optional = header.optional_header.ok_or(Error::NoOptionalHeader)?;
        let opt = (header.dos_header.pe_pointer as usize)
            .checked_add(SIGNATURE_AND_COFF)
            .ok_or_else(|| bad("header offset overflows"))?;
        let dirs = opt
            + if optional.standard_fields.magic == PE32_PLUS {
                112
            } else {
                96
            };
        let cert_dir = dirs + 4 * 8;
        let checksum = opt + 64;
        let opt_size = usize::from(header.coff_header.size_of_optional_header);
        if cert_dir + 8 > opt + opt_size || cert_dir + 8 > image.len() {
            return Err(bad("the optional header has no certificate-table entry"));
        }
        let headers_end = optional.windows_fields.size_of_headers as usize;
        if headers_end > image.len() || headers_end < cert_dir + 8 {
            return Err(bad(format!(
                "SizeOfHeaders {headers_end} is outside the file"
            )));
        }
        let table = opt + opt_size;
        let mut sections = Vec::new();
        for i in 0..usize::from(header.coff_header.number_of_sections) {
            let entry = table + i * SECTION_ENTRY;
            let size = u32_at(image, entry + 16)? as usize;
            let offset = u32_at(image, entry + 20)? as usize;
            if size == 0 {
                continue;
            }
            if offset.checked_add(size).is_none_or(|end| end > image.len()) {
                return Err(bad(format!(
                    "section {i}'s data ({size} bytes at {offset}) is outside the file"
                )));
            }
            sections.push((offset, size));
        }
        sections.sort_unstable();
        let cert_table = match optional.data_directories.get_certificate_table() {
            Some(dd) if dd.size > 0 => {
                let (at, size) = (dd.virtual_address as usize, dd.size as usize);
                if at.checked_add(size).is_none_or(|end| end > image.len()) {
                    return Err(bad("the certificate table is outside the file"));
                }
                Some((at, size))
            }
            _ => None,
        };
        Ok(Layout {
            checksum,
            cert_dir,
            headers_end,
            sections,
            cert_table,
        })
    }
}
