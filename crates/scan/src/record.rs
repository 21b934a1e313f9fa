//! One entry of a scan, as written to the manifest.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The type of a filesystem entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryType {
    /// Regular file.
    File,
    /// Directory.
    Dir,
    /// Symbolic link.
    Symlink,
    /// Named pipe.
    Fifo,
    /// Unix socket.
    Socket,
    /// Character device.
    Char,
    /// Block device.
    Block,
    /// Could not be determined (the entry vanished or could not be examined).
    Unknown,
}

impl EntryType {
    /// From the `S_IFMT` bits of a mode.
    pub fn from_mode(mode: u32) -> Self {
        match mode & libc::S_IFMT {
            libc::S_IFREG => EntryType::File,
            libc::S_IFDIR => EntryType::Dir,
            libc::S_IFLNK => EntryType::Symlink,
            libc::S_IFIFO => EntryType::Fifo,
            libc::S_IFSOCK => EntryType::Socket,
            libc::S_IFCHR => EntryType::Char,
            libc::S_IFBLK => EntryType::Block,
            _ => EntryType::Unknown,
        }
    }
}

/// A decoded `security.capability` attribute (`vfs_cap_data`, revisions 2 and 3).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capability {
    /// The effective bit: permitted capabilities are raised at exec.
    pub effective: bool,
    /// Permitted set, by name (`cap_net_raw`, …; unknown bits as `cap_<n>`).
    pub permitted: Vec<String>,
    /// Inheritable set, by name.
    pub inheritable: Vec<String>,
    /// Namespace root uid (revision 3 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rootid: Option<u32>,
}

/// Everything recorded about one entry. Optional fields are absent when they do not apply
/// or could not be read (then `error` says why).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The path as UTF-8, when it is valid UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The path's bytes in hex, when it is not valid UTF-8 (lossless).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hex: Option<String>,
    /// Entry type.
    #[serde(rename = "type")]
    pub kind: Option<EntryType>,
    /// Full `st_mode`: type bits, setuid/setgid/sticky and permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    /// Owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// Group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Hard links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nlink: Option<u64>,
    /// Inode number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ino: Option<u64>,
    /// Device holding the entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<u64>,
    /// Modification time, ns since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime_ns: Option<i128>,
    /// Status change time, ns since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctime_ns: Option<i128>,
    /// Device number of a character or block device: (major, minor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rdev: Option<(u32, u32)>,
    /// SHA-256 of a regular file's content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// BLAKE3 of a regular file's content (with `--hash blake3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blake3: Option<String>,
    /// A symlink's target as UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// A symlink's target in hex, when not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_hex: Option<String>,
    /// Decoded file capabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capability: Option<Capability>,
    /// `security.ima`, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ima: Option<String>,
    /// `security.selinux` label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selinux: Option<String>,
    /// POSIX access ACL, decoded (`user::rwx`, `user:1000:r-x`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl_access: Option<Vec<String>>,
    /// POSIX default ACL of a directory, decoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl_default: Option<Vec<String>>,
    /// Inode flags that matter for integrity (`immutable`, `append`), where the filesystem
    /// reports them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<Vec<String>>,
    /// What went wrong reading this entry (`permission denied: …`, `vanished`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Record {
    /// An empty record for `path`, the path stored losslessly.
    pub fn new(path: &Path) -> Self {
        let mut r = Record::default();
        match path.to_str() {
            Some(s) => r.path = Some(s.to_owned()),
            None => r.path_hex = Some(hex::encode(path.as_os_str().as_bytes())),
        }
        r
    }

    /// The path, restored exactly.
    pub fn path_buf(&self) -> PathBuf {
        match (&self.path, &self.path_hex) {
            (Some(p), _) => PathBuf::from(p),
            (None, Some(h)) => {
                PathBuf::from(OsString::from_vec(hex::decode(h).unwrap_or_default()))
            }
            (None, None) => PathBuf::new(),
        }
    }

    /// Sets a symlink target losslessly.
    pub fn set_target(&mut self, target: &Path) {
        match target.to_str() {
            Some(s) => self.target = Some(s.to_owned()),
            None => self.target_hex = Some(hex::encode(target.as_os_str().as_bytes())),
        }
    }

    /// Permission bits including setuid, setgid and sticky.
    pub fn perm(&self) -> Option<u32> {
        self.mode.map(|m| m & 0o7777)
    }
}

/// The bytes of a path, the sort key of a manifest.
pub fn path_bytes(path: &Path) -> &[u8] {
    path.as_os_str().as_bytes()
}

/// The bytes of a path given as an `OsStr`.
pub(crate) fn os_bytes(s: &OsStr) -> &[u8] {
    s.as_bytes()
}
