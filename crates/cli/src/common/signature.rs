//! Detached signature formats and making one: what `cairn sign` writes and `cairn push`
//! sends with a package.

use std::path::Path;

use anyhow::Context as _;
use cairn_sign::PrivateKey;

use crate::common::files::{map_file, sha256_file};

/// Signature encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SignatureFormat {
    /// Hex text: DER ECDSA (as `openssl dgst -hex -sign` and memflow-registry), or the
    /// 64 Ed25519 bytes.
    Hex,
    /// Raw bytes: DER ECDSA (as `openssl dgst -sign`), or the 64 Ed25519 bytes (as
    /// `openssl pkeyutl -sign -rawin`).
    Raw,
    /// An armored OpenPGP detached signature (`gpg --verify` accepts it).
    Openpgp,
    /// A binary OpenPGP detached signature.
    OpenpgpBinary,
}

/// Signs `file` with `key` in `format`: OpenPGP streams the file, ECDSA signs its SHA-256,
/// Ed25519 signs its bytes (over a memory map).
pub fn sign_file(
    key: &PrivateKey,
    file: &Path,
    format: SignatureFormat,
) -> anyhow::Result<Vec<u8>> {
    if matches!(
        format,
        SignatureFormat::Openpgp | SignatureFormat::OpenpgpBinary
    ) {
        let f = std::fs::File::open(file).with_context(|| format!("reading {}", file.display()))?;
        return Ok(cairn_sign::openpgp::sign_detached(
            key,
            std::io::BufReader::new(f),
            format == SignatureFormat::Openpgp,
        )?);
    }
    let map = map_file(file)?;
    let signature = key.sign(&cairn_sign::Signed::hashed(sha256_file(file)?, &map))?;
    Ok(match format {
        SignatureFormat::Hex => format!("{}\n", hex::encode(&signature)).into_bytes(),
        _ => signature,
    })
}
