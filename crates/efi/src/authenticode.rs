//! The Authenticode digest of a PE/COFF image: what a signature over the image signs, and
//! what db and dbx list as an image hash.
//!
//! SHA-256 over: the headers without the CheckSum field and the certificate-table directory
//! entry; every section's raw data in file order; then the data from the offset that the
//! headers and sections sum to, up to the certificate table (the Authenticode
//! specification's SUM_OF_BYTES_HASHED rule). Over the file as it is, as UEFI firmware and
//! `pesign --hash` compute it. Signing pads an image to a multiple of 8 bytes first, as
//! sbsign does ([`crate::sign::sign`]), so a signed image's digest is that of its padded
//! form; for an image whose length is already a multiple of 8 the two are the same.

use sha2::{Digest as _, Sha256};

use crate::error::Error;
use crate::pe::Layout;

/// The SHA-256 Authenticode digest of `image`.
pub fn digest(image: &[u8]) -> Result<[u8; 32], Error> {
    let layout = Layout::of(image)?;
    let mut h = Sha256::new();
    h.update(&image[..layout.checksum]);
    h.update(&image[layout.checksum + 4..layout.cert_dir]);
    h.update(&image[layout.cert_dir + 8..layout.headers_end]);
    let mut hashed = layout.headers_end;
    for &(offset, size) in &layout.sections {
        h.update(&image[offset..offset + size]);
        hashed += size;
    }
    // Then the data after what was hashed, up to the certificate table (which, as the
    // format requires, ends the file).
    let end = image.len() - layout.cert_table.map_or(0, |(_, size)| size);
    if end > hashed {
        h.update(&image[hashed..end]);
    }
    Ok(h.finalize().into())
}
