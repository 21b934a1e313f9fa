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

/// Writes `bytes` to `path` (mode 0644) through a temporary file beside it, so `path`
/// appears whole or not at all.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    write_atomically_with(path, |f| f.write_all(bytes).map_err(Into::into))
}

/// Writes `path` (mode 0644) with `fill` through a temporary file beside it, so `path`
/// appears whole or not at all, for what is streamed rather than held in memory.
pub fn write_atomically_with(
    path: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    // A temporary file is private (0600); what this writes is not secret (keys go through
    // cairn-secmem's writer), so it gets the usual 0644.
    write_with_mode(path, 0o644, fill)
}

/// Writes a token to `path` as [`write_atomically`] does, but readable by its owner only.
pub fn write_secret(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    write_with_mode(path, 0o600, |f| f.write_all(bytes).map_err(Into::into))
}

fn write_with_mode(
    path: &Path,
    mode: u32,
    fill: impl FnOnce(&mut std::fs::File) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("writing {}", path.display()))?;
    use std::os::unix::fs::PermissionsExt as _;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("writing {}", path.display()))?;
    fill(tmp.as_file_mut())
        .and_then(|()| tmp.as_file().sync_all().map_err(Into::into))
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
