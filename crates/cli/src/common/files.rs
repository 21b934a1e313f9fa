//! Local files the commands sign, verify and push: their digest, and their bytes mapped.

use std::path::Path;

use anyhow::Context;

/// SHA-256 of a file, streamed.
pub fn sha256_file(path: &Path) -> anyhow::Result<[u8; 32]> {
    use sha2::Digest as _;
    let mut f = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut f, &mut h).with_context(|| format!("reading {}", path.display()))?;
    Ok(h.finalize().into())
}

/// A whole file, for Ed25519, which signs the message itself (mapped, not copied). A
/// concurrent writer can only make the signature fail to verify.
pub fn map_file(path: &Path) -> anyhow::Result<cairn_mmap::Mapped> {
    let f = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    cairn_mmap::map(&f).with_context(|| format!("mapping {}", path.display()))
}
