//! `cairn efi enroll` writes signed updates to the firmware's variables through efivarfs,
//! in the order that keeps the machine enrollable: db and dbx, then KEK, then PK. Writing PK
//! ends setup mode, after which every update must be signed by a key already enrolled.
//! `cairn efi list` prints the live variables, as `efi-readvar` does.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use cairn_efi::Guid;
use cairn_efi::auth::Variable;
use cairn_efi::siglist;

use super::efivars::{self, Write};
use super::read;
use super::show::print_lists;

/// The updates to enroll, by variable.
#[derive(Debug, Default)]
pub(super) struct Updates {
    /// A key set directory: its `db.auth`, `dbx.auth`, `KEK.auth` and `PK.auth`, those that
    /// exist.
    pub dir: Option<PathBuf>,
    /// PK's update.
    pub pk: Option<PathBuf>,
    /// KEK's.
    pub kek: Option<PathBuf>,
    /// db's.
    pub db: Option<PathBuf>,
    /// dbx's.
    pub dbx: Option<PathBuf>,
}

/// The enrollment order: PK last, since it ends setup mode.
const ORDER: [Variable; 4] = [Variable::Db, Variable::Dbx, Variable::Kek, Variable::Pk];

impl Updates {
    /// The files to write, in enrollment order. A file given by flag wins over the
    /// directory's.
    fn in_order(&self) -> anyhow::Result<Vec<(Variable, PathBuf)>> {
        let mut out = Vec::new();
        for var in ORDER {
            let given = match var {
                Variable::Pk => &self.pk,
                Variable::Kek => &self.kek,
                Variable::Db => &self.db,
                Variable::Dbx => &self.dbx,
            };
            let from_dir = self
                .dir
                .as_ref()
                .map(|d| d.join(format!("{}.auth", var.name())))
                .filter(|p| p.exists());
            if let Some(file) = given.clone().or(from_dir) {
                out.push((var, file));
            }
        }
        anyhow::ensure!(
            !out.is_empty(),
            "nothing to enroll: give --dir with .auth files, or --pk, --kek, --db, --dbx"
        );
        Ok(out)
    }
}

/// Checks every update, then writes them in order (or, with `dry_run`, says what it would
/// write). Stops at the first the firmware refuses.
pub(super) fn enroll(
    updates: &Updates,
    append: bool,
    efivars: &Path,
    dry_run: bool,
) -> anyhow::Result<()> {
    let files = updates.in_order()?;
    let mut checked = Vec::new();
    for (var, file) in files {
        let bytes = read(&file)?;
        let update = cairn_efi::auth::parse(&bytes)
            .with_context(|| format!("{} is not a signed update (.auth)", file.display()))?;
        siglist::parse(update.list)
            .with_context(|| format!("the signature list in {}", file.display()))?;
        checked.push((var, file, bytes));
    }
    if !dry_run {
        anyhow::ensure!(
            efivars.is_dir(),
            "{} is not there: this machine did not boot with UEFI, or efivarfs is not mounted \
             (mount -t efivarfs efivarfs {})",
            efivars.display(),
            efivars.display()
        );
    }
    let mut out = std::io::stdout().lock();
    for (var, file, bytes) in &checked {
        let write = Write {
            var: *var,
            update: bytes,
            append,
        };
        let target = efivars::path(efivars, var.name(), var.vendor());
        let how = if append { "append to" } else { "replace" };
        if dry_run {
            writeln!(
                out,
                "would {how} {} with {} ({} bytes, attributes {:#x}) at {}",
                var.name(),
                file.display(),
                bytes.len(),
                write.attributes(),
                target.display()
            )?;
            continue;
        }
        write.apply(efivars)?;
        writeln!(
            out,
            "{}: {} from {}",
            var.name(),
            if append { "appended" } else { "replaced" },
            file.display()
        )?;
    }
    Ok(())
}

/// Prints Secure Boot's state and the PK, KEK, db and dbx variables under `efivars`.
pub(super) fn list(efivars: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        efivars.is_dir(),
        "{} is not there: this machine did not boot with UEFI, or efivarfs is not mounted",
        efivars.display()
    );
    let mut out = std::io::stdout().lock();
    for flag in ["SecureBoot", "SetupMode"] {
        let value = efivars::read(efivars, flag, Guid::GLOBAL_VARIABLE)?
            .and_then(|(_, v)| v.first().copied());
        match value {
            Some(v) => writeln!(out, "{flag}: {v}")?,
            None => writeln!(out, "{flag}: (not set)")?,
        }
    }
    for var in [Variable::Pk, Variable::Kek, Variable::Db, Variable::Dbx] {
        match efivars::read(efivars, var.name(), var.vendor())? {
            None => writeln!(out, "{}: (not set)", var.name())?,
            Some((_, value)) => {
                writeln!(out, "{}:", var.name())?;
                let lists = siglist::parse(&value)
                    .with_context(|| format!("the firmware's {} variable", var.name()))?;
                print_lists(&mut out, &lists)?;
            }
        }
    }
    Ok(())
}
