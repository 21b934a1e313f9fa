//! What changed between two scans, security-relevant changes flagged first.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::manifest::Manifest;
use crate::record::{EntryType, Record};

/// Directories whose content changes are flagged (relative to a scan root, or absolute).
const SYSTEM_BINARY_DIRS: &[&str] = &[
    "bin",
    "sbin",
    "lib",
    "lib32",
    "lib64",
    "usr/bin",
    "usr/sbin",
    "usr/lib",
    "usr/lib32",
    "usr/lib64",
    "usr/libexec",
    "usr/local/bin",
    "usr/local/sbin",
    "boot",
];

/// The category of a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// In the new scan only.
    Added,
    /// In the old scan only.
    Removed,
    /// File content (digest) or symlink target differs.
    Content,
    /// File became directory, and the like.
    Type,
    /// Permission bits (including setuid, setgid, sticky) differ.
    Mode,
    /// Owner or group differs.
    Owner,
    /// File capabilities differ.
    Capability,
    /// IMA, SELinux label or POSIX ACLs differ.
    Xattr,
    /// Inode flags (immutable, append-only) differ.
    Flags,
    /// Readable before and not now, or the reverse.
    Error,
}

/// A security-relevant change, listed before everything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// A new setuid/setgid file, a file that gained the bit, or changed content of one.
    Setuid,
    /// A new world-writable file or directory, or one that became so.
    WorldWritable,
    /// New or changed file capabilities.
    Capability,
    /// Changed content under a system binary directory.
    SystemBinary,
}

/// One changed path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The path.
    pub path: PathBuf,
    /// Every category that applies.
    pub kinds: Vec<ChangeKind>,
    /// Security flags, if any.
    pub flags: Vec<Flag>,
    /// A short human description (`mode 0755 -> 4755`, …).
    pub details: Vec<String>,
}

/// The comparison of two scans.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Diff {
    /// Changes, flagged ones first, then by path.
    pub changes: Vec<Change>,
}

impl Diff {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Changes of one category.
    pub fn of(&self, kind: ChangeKind) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(move |c| c.kinds.contains(&kind))
    }

    /// Changes carrying a flag.
    pub fn flagged(&self, flag: Flag) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(move |c| c.flags.contains(&flag))
    }
}

fn is_setid(r: &Record) -> bool {
    r.kind == Some(EntryType::File) && r.perm().is_some_and(|p| p & 0o6000 != 0)
}

fn is_world_writable(r: &Record) -> bool {
    r.kind != Some(EntryType::Symlink) && r.perm().is_some_and(|p| p & 0o002 != 0)
}

fn under_system_binaries(path: &Path, roots: &[PathBuf]) -> bool {
    let relative = roots
        .iter()
        .find_map(|root| path.strip_prefix(root).ok())
        .unwrap_or(path);
    let relative = relative.strip_prefix("/").unwrap_or(relative);
    SYSTEM_BINARY_DIRS.iter().any(|d| relative.starts_with(d))
}

/// Compares `old` with `new`.
pub fn diff(old: &Manifest, new: &Manifest) -> Diff {
    let roots: Vec<PathBuf> = new
        .header
        .roots
        .iter()
        .chain(&old.header.roots)
        .map(PathBuf::from)
        .collect();
    let index = |m: &Manifest| -> BTreeMap<PathBuf, Record> {
        m.records
            .iter()
            .map(|r| (r.path_buf(), r.clone()))
            .collect()
    };
    let (before, after) = (index(old), index(new));
    let mut changes = Vec::new();
    for (path, a) in &after {
        match before.get(path) {
            None => {
                let mut c = change(path, ChangeKind::Added, vec![describe_new(a)]);
                if is_setid(a) {
                    c.flags.push(Flag::Setuid);
                }
                if is_world_writable(a) {
                    c.flags.push(Flag::WorldWritable);
                }
                if a.capability.is_some() {
                    c.flags.push(Flag::Capability);
                }
                changes.push(c);
            }
            Some(b) => {
                if let Some(c) = compare(path, b, a, &roots) {
                    changes.push(c);
                }
            }
        }
    }
    for (path, b) in &before {
        if !after.contains_key(path) {
            changes.push(change(path, ChangeKind::Removed, vec![describe_new(b)]));
        }
    }
    changes.sort_by(|x, y| (x.flags.is_empty(), &x.path).cmp(&(y.flags.is_empty(), &y.path)));
    Diff { changes }
}

fn change(path: &Path, kind: ChangeKind, details: Vec<String>) -> Change {
    Change {
        path: path.to_path_buf(),
        kinds: vec![kind],
        flags: Vec::new(),
        details,
    }
}

fn describe_new(r: &Record) -> String {
    let kind = r
        .kind
        .map_or("unknown".to_owned(), |k| format!("{k:?}").to_lowercase());
    match r.perm() {
        Some(p) => format!("{kind} {p:04o}"),
        None => kind,
    }
}

fn compare(path: &Path, b: &Record, a: &Record, roots: &[PathBuf]) -> Option<Change> {
    let mut c = Change {
        path: path.to_path_buf(),
        kinds: Vec::new(),
        flags: Vec::new(),
        details: Vec::new(),
    };
    if b.kind != a.kind {
        c.kinds.push(ChangeKind::Type);
        c.details
            .push(format!("type {} -> {}", describe_new(b), describe_new(a)));
    } else if b.sha256 != a.sha256 || b.target != a.target || b.target_hex != a.target_hex {
        c.kinds.push(ChangeKind::Content);
        if b.target != a.target || b.target_hex != a.target_hex {
            c.details
                .push(format!("target {:?} -> {:?}", b.target, a.target));
        } else {
            c.details.push("content changed".into());
        }
        if is_setid(a) || is_setid(b) {
            c.flags.push(Flag::Setuid);
        }
        if a.kind == Some(EntryType::File) && under_system_binaries(path, roots) {
            c.flags.push(Flag::SystemBinary);
        }
    }
    // A type change already shows both modes; a mode change is only news for the same type.
    if b.kind == a.kind && b.perm() != a.perm() {
        c.kinds.push(ChangeKind::Mode);
        c.details.push(format!(
            "mode {:04o} -> {:04o}",
            b.perm().unwrap_or(0),
            a.perm().unwrap_or(0)
        ));
        if is_setid(a) && !is_setid(b) && !c.flags.contains(&Flag::Setuid) {
            c.flags.push(Flag::Setuid);
        }
        if is_world_writable(a) && !is_world_writable(b) {
            c.flags.push(Flag::WorldWritable);
        }
    } else if b.kind != a.kind && is_world_writable(a) {
        c.flags.push(Flag::WorldWritable);
    }
    if (b.uid, b.gid) != (a.uid, a.gid) {
        c.kinds.push(ChangeKind::Owner);
        c.details.push(format!(
            "owner {:?}:{:?} -> {:?}:{:?}",
            b.uid, b.gid, a.uid, a.gid
        ));
    }
    if b.capability != a.capability {
        c.kinds.push(ChangeKind::Capability);
        c.details.push(format!(
            "capability {:?} -> {:?}",
            b.capability.as_ref().map(|c| &c.permitted),
            a.capability.as_ref().map(|c| &c.permitted)
        ));
        if a.capability.is_some() {
            c.flags.push(Flag::Capability);
        }
    }
    if (&b.ima, &b.selinux, &b.acl_access, &b.acl_default)
        != (&a.ima, &a.selinux, &a.acl_access, &a.acl_default)
    {
        c.kinds.push(ChangeKind::Xattr);
        c.details.push("extended attributes changed".into());
    }
    if b.flags != a.flags {
        c.kinds.push(ChangeKind::Flags);
        c.details
            .push(format!("flags {:?} -> {:?}", b.flags, a.flags));
    }
    if b.error.is_some() != a.error.is_some() {
        c.kinds.push(ChangeKind::Error);
        c.details
            .push(format!("error {:?} -> {:?}", b.error, a.error));
    }
    c.flags.sort();
    c.flags.dedup();
    (!c.kinds.is_empty()).then_some(c)
}
