//! `cairn efi uki`: a unified kernel image from systemd's EFI stub, as `ukify` builds one.
//! The kernel and initrd are streamed into place, never held in memory.

use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context;
use cairn_efi::uki::{Part, plan};

/// Debian's systemd-boot-efi stub.
pub(super) const STUB: &str = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub";

/// What goes into the image.
#[derive(Debug)]
pub(super) struct Contents {
    /// The stub.
    pub stub: PathBuf,
    /// The kernel (`.linux`).
    pub kernel: PathBuf,
    /// The initrd (`.initrd`).
    pub initrd: Option<PathBuf>,
    /// The kernel command line (`.cmdline`).
    pub cmdline: Option<String>,
    /// An os-release file (`.osrel`), which boot menus show.
    pub os_release: Option<PathBuf>,
    /// The kernel's release (`.uname`).
    pub uname: Option<String>,
}

enum Source {
    Bytes(Vec<u8>),
    File(PathBuf),
}

fn size_of(path: &Path) -> anyhow::Result<u64> {
    Ok(std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len())
}

/// Builds the image at `out` (atomically).
pub(super) fn build(c: &Contents, out: &Path) -> anyhow::Result<()> {
    let stub = std::fs::read(&c.stub).with_context(|| format!("reading {}", c.stub.display()))?;
    // ukify's order: metadata first, the kernel last.
    let mut sources: Vec<(&str, Source)> = Vec::new();
    if let Some(f) = &c.os_release {
        sources.push((".osrel", Source::File(f.clone())));
    }
    if let Some(text) = &c.cmdline {
        sources.push((".cmdline", Source::Bytes(text.as_bytes().to_vec())));
    }
    if let Some(text) = &c.uname {
        sources.push((".uname", Source::Bytes(text.as_bytes().to_vec())));
    }
    if let Some(f) = &c.initrd {
        sources.push((".initrd", Source::File(f.clone())));
    }
    sources.push((".linux", Source::File(c.kernel.clone())));
    let parts = sources
        .iter()
        .map(|(name, src)| {
            Ok(Part {
                name: (*name).to_owned(),
                size: match src {
                    Source::Bytes(b) => b.len() as u64,
                    Source::File(f) => size_of(f)?,
                },
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let plan = plan(&stub, &parts).with_context(|| format!("using {}", c.stub.display()))?;
    crate::common::files::write_atomically_with(out, |file| {
        file.write_all(&plan.head)?;
        for ((_, src), (part, at)) in sources.iter().zip(parts.iter().zip(&plan.offsets)) {
            file.seek(SeekFrom::Start(*at))?;
            match src {
                Source::Bytes(b) => file.write_all(b)?,
                Source::File(f) => copy_exactly(f, part.size, file)?,
            }
        }
        // Zero-fill the gaps and the last part's padding.
        file.set_len(plan.len)?;
        Ok(())
    })?;
    Ok(())
}

/// Streams `size` bytes of `path` into `out`; a file that changed size since it was
/// measured is an error, not a short section.
fn copy_exactly(path: &Path, size: u64, out: &mut std::fs::File) -> anyhow::Result<()> {
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let copied = std::io::copy(&mut file.take(size + 1), out)
        .with_context(|| format!("copying {}", path.display()))?;
    anyhow::ensure!(
        copied == size,
        "{} changed size while it was copied ({size} bytes expected, {copied} read)",
        path.display()
    );
    Ok(())
}
