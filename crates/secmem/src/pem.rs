//! PEM-armoured secrets (RFC 7468) decoded and encoded entirely in guarded memory.
//!
//! A private key file's text is itself the secret in another encoding: reading it with
//! `read_to_string` leaves a base64 copy in the ordinary heap. These functions read the file
//! into a [`LockedBuffer`] and decode the base64 from there into another one.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use pem_rfc7468::LineEnding;

use crate::buffer::LockedBuffer;
use crate::error::Error;

/// Largest PEM file accepted: private keys are a few kilobytes at most.
pub const MAX_PEM: usize = 64 * 1024;

/// A decoded PEM secret: its label and DER bytes.
#[derive(Debug)]
pub struct PemSecret {
    /// The label (`PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`, …).
    pub label: String,
    /// The DER bytes.
    pub der: LockedBuffer,
}

/// Reads a PEM file straight into guarded memory and decodes it there.
pub fn read_pem_file(path: &Path) -> Result<PemSecret, Error> {
    let mut file = std::fs::File::open(path).map_err(Error::Read)?;
    let text = LockedBuffer::from_reader_to_eof(&mut file, MAX_PEM)?;
    decode_pem(&text.bytes())
}

/// Decodes PEM text held by the caller (in guarded memory, or not secret).
pub fn decode_pem(text: &[u8]) -> Result<PemSecret, Error> {
    let bad = |e: pem_rfc7468::Error| Error::Pem(e.to_string());
    let mut der = LockedBuffer::new(text.len().max(1))?;
    let (label, len) = {
        let mut out = der.bytes_mut()?;
        let (label, bytes) = pem_rfc7468::decode(text, &mut out).map_err(bad)?;
        (label.to_owned(), bytes.len())
    };
    if len == 0 {
        return Err(Error::Pem("no data between the PEM boundaries".into()));
    }
    let mut exact = LockedBuffer::new(len)?;
    exact.copy_from(&der.bytes()[..len])?;
    Ok(PemSecret { label, der: exact })
}

/// PEM text (LF line endings) for `der`, in guarded memory.
pub fn encode_pem(label: &str, der: &[u8]) -> Result<LockedBuffer, Error> {
    let bad = |e: pem_rfc7468::Error| Error::Pem(e.to_string());
    let len = pem_rfc7468::encoded_len(label, LineEnding::LF, der).map_err(bad)?;
    let mut text = LockedBuffer::new(len)?;
    let written = pem_rfc7468::encode(label, LineEnding::LF, der, &mut text.bytes_mut()?)
        .map_err(bad)?
        .len();
    if written != len {
        return Err(Error::Pem("encoded length changed".into()));
    }
    Ok(text)
}

/// Writes a secret (a private key's PEM) to `path`: mode 0600 from creation, synced, then
/// renamed into place, so no reader ever sees a partial or world-readable key.
pub fn write_secret_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
