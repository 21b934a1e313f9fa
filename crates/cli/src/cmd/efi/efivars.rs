//! The firmware's variables as Linux shows them in efivarfs: one file per variable, named
//! `NAME-GUID`, holding the 4-byte attributes and then the value. A write must be one
//! `write(2)` of attributes and data (the kernel hands each write to the firmware as one
//! SetVariable call), and efivarfs marks most variable files immutable, so an update first
//! clears the flag (`chattr -i`) and sets it again afterwards.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use cairn_efi::Guid;
use cairn_efi::auth::{APPEND_WRITE, ATTRIBUTES, Variable};
use rustix::fs::IFlags;

/// Where Linux mounts efivarfs.
pub(super) const EFIVARS: &str = "/sys/firmware/efi/efivars";

/// The file of variable `name` under `vendor` in `dir`.
pub(super) fn path(dir: &Path, name: &str, vendor: Guid) -> PathBuf {
    dir.join(format!("{name}-{vendor}"))
}

/// A variable's attributes and value, `None` when the firmware has no such variable.
pub(super) fn read(dir: &Path, name: &str, vendor: Guid) -> anyhow::Result<Option<(u32, Vec<u8>)>> {
    let file = path(dir, name, vendor);
    let bytes = match std::fs::read(&file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
    };
    anyhow::ensure!(
        bytes.len() >= 4,
        "{} is shorter than its attributes",
        file.display()
    );
    let attributes = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    Ok(Some((attributes, bytes[4..].to_vec())))
}

/// What writing an update asks of the firmware.
#[derive(Debug)]
pub(super) struct Write<'a> {
    /// The variable.
    pub var: Variable,
    /// The signed update (`.auth`).
    pub update: &'a [u8],
    /// Append to the variable instead of replacing it.
    pub append: bool,
}

impl Write<'_> {
    /// The attributes the update is written with (they are part of what its signature
    /// covers, so they must be the ones it was signed for).
    pub(super) fn attributes(&self) -> u32 {
        ATTRIBUTES | if self.append { APPEND_WRITE } else { 0 }
    }

    /// Writes the update to `dir`. The firmware checks it; its refusal comes back as the
    /// write's error.
    pub(super) fn apply(&self, dir: &Path) -> anyhow::Result<()> {
        let file = path(dir, self.var.name(), self.var.vendor());
        let immutable = clear_immutable(&file)?;
        let mut bytes = Vec::with_capacity(4 + self.update.len());
        bytes.extend_from_slice(&self.attributes().to_le_bytes());
        bytes.extend_from_slice(self.update);
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&file)
            .and_then(|mut f| f.write(&bytes));
        if immutable {
            restore_immutable(&file);
        }
        match written {
            Ok(n) if n == bytes.len() => Ok(()),
            Ok(n) => anyhow::bail!(
                "{}: the kernel took {n} of {} bytes; the firmware was given a partial update",
                file.display(),
                bytes.len()
            ),
            Err(e) => Err(e).with_context(|| refusal(self.var, &file)),
        }
    }
}

fn refusal(var: Variable, file: &Path) -> String {
    let signer = match var {
        Variable::Pk | Variable::Kek => "PK",
        Variable::Db | Variable::Dbx => "a KEK",
    };
    format!(
        "the firmware refused the update of {} ({}): it must be signed by {signer} key, \
         newer than the variable, and written with the attributes it was signed for",
        var.name(),
        file.display()
    )
}

/// Clears the immutable flag of an existing variable file; true when it was set.
fn clear_immutable(file: &Path) -> anyhow::Result<bool> {
    let f = match std::fs::File::open(file) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e).with_context(|| format!("opening {}", file.display())),
    };
    let flags = rustix::fs::ioctl_getflags(&f)
        .with_context(|| format!("reading {}'s flags", file.display()))?;
    if !flags.contains(IFlags::IMMUTABLE) {
        return Ok(false);
    }
    rustix::fs::ioctl_setflags(&f, flags - IFlags::IMMUTABLE)
        .with_context(|| format!("clearing {}'s immutable flag (chattr -i)", file.display()))?;
    Ok(true)
}

/// Sets the immutable flag again, as efivarfs had it; a failure only loses a safeguard
/// against deleting the variable, so it is reported, not fatal.
fn restore_immutable(file: &Path) {
    let set = std::fs::File::open(file).and_then(|f| {
        let flags = rustix::fs::ioctl_getflags(&f)?;
        rustix::fs::ioctl_setflags(&f, flags | IFlags::IMMUTABLE)?;
        Ok(())
    });
    if let Err(e) = set {
        eprintln!(
            "warning: could not set {}'s immutable flag again: {e}",
            file.display()
        );
    }
}
