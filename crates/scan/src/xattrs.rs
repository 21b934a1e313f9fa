//! The extended attributes a scan records, decoded where their format is known.

use crate::record::{Capability, Record};

const CAPABILITY: &str = "security.capability";
const IMA: &str = "security.ima";
const SELINUX: &str = "security.selinux";
const ACL_ACCESS: &str = "system.posix_acl_access";
const ACL_DEFAULT: &str = "system.posix_acl_default";

/// Attribute names worth a `getxattr` (the rest of `listxattr` is ignored).
pub(crate) fn wanted(name: &str) -> bool {
    matches!(name, CAPABILITY | IMA | SELINUX | ACL_ACCESS | ACL_DEFAULT)
}

/// Stores one attribute's value in the record.
pub(crate) fn apply(record: &mut Record, name: &str, value: &[u8]) {
    match name {
        CAPABILITY => record.capability = Some(decode_capability(value)),
        IMA => record.ima = Some(hex::encode(value)),
        SELINUX => {
            let label = value.strip_suffix(&[0]).unwrap_or(value);
            record.selinux = Some(String::from_utf8_lossy(label).into_owned());
        }
        ACL_ACCESS => record.acl_access = Some(decode_acl(value)),
        ACL_DEFAULT => record.acl_default = Some(decode_acl(value)),
        _ => {}
    }
}

const CAP_NAMES: [&str; 41] = [
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
];

fn le32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn cap_names(bits: u64) -> Vec<String> {
    (0..64)
        .filter(|i| bits & (1 << i) != 0)
        .map(|i| match CAP_NAMES.get(i) {
            Some(n) => format!("cap_{n}"),
            None => format!("cap_{i}"),
        })
        .collect()
}

/// Decodes `vfs_cap_data` (revision 1, 2 or 3); a malformed value decodes to an empty set
/// with the raw bytes' length recorded as an unknown bit-free capability.
pub(crate) fn decode_capability(v: &[u8]) -> Capability {
    let Some(magic) = le32(v, 0) else {
        return Capability::default();
    };
    let revision = magic & 0xff00_0000;
    let words = if revision == 0x0100_0000 { 1 } else { 2 };
    let mut permitted = 0u64;
    let mut inheritable = 0u64;
    for i in 0..words {
        permitted |= u64::from(le32(v, 4 + 8 * i).unwrap_or(0)) << (32 * i);
        inheritable |= u64::from(le32(v, 8 + 8 * i).unwrap_or(0)) << (32 * i);
    }
    Capability {
        effective: magic & 1 != 0,
        permitted: cap_names(permitted),
        inheritable: cap_names(inheritable),
        rootid: if revision == 0x0300_0000 {
            le32(v, 20)
        } else {
            None
        },
    }
}

/// Decodes a POSIX ACL xattr (version 2) into `getfacl`-style entries.
pub(crate) fn decode_acl(v: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for entry in v.get(4..).unwrap_or(&[]).chunks_exact(8) {
        let tag = u16::from_le_bytes([entry[0], entry[1]]);
        let perm = u16::from_le_bytes([entry[2], entry[3]]);
        let id = u32::from_le_bytes([entry[4], entry[5], entry[6], entry[7]]);
        let rwx: String = [(4, 'r'), (2, 'w'), (1, 'x')]
            .iter()
            .map(|&(bit, c)| if perm & bit != 0 { c } else { '-' })
            .collect();
        let who = match tag {
            0x01 => "user::".to_owned(),
            0x02 => format!("user:{id}:"),
            0x04 => "group::".to_owned(),
            0x08 => format!("group:{id}:"),
            0x10 => "mask::".to_owned(),
            0x20 => "other::".to_owned(),
            t => format!("tag{t}:{id}:"),
        };
        out.push(format!("{who}{rwx}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_revision_2() {
        // setcap cap_net_raw,cap_net_admin+ep
        let v = hex::decode("0100000200300000000000000000000000000000").unwrap();
        let c = decode_capability(&v);
        assert!(c.effective);
        assert_eq!(c.permitted, vec!["cap_net_admin", "cap_net_raw"]);
        assert!(c.inheritable.is_empty());
        assert_eq!(c.rootid, None);
    }

    #[test]
    fn capability_revision_3_has_rootid() {
        let mut v = hex::decode("0000000300040000000000000000000000000000").unwrap();
        v.extend_from_slice(&1000u32.to_le_bytes());
        let c = decode_capability(&v);
        assert!(!c.effective);
        assert_eq!(c.permitted, vec!["cap_net_bind_service"]);
        assert_eq!(c.rootid, Some(1000));
        assert_eq!(decode_capability(&[1, 2]), Capability::default());
    }

    #[test]
    fn acl_entries() {
        let mut v = 2u32.to_le_bytes().to_vec();
        for (tag, perm, id) in [
            (1u16, 7u16, u32::MAX),
            (2, 5, 1000),
            (4, 5, u32::MAX),
            (0x10, 7, u32::MAX),
            (0x20, 4, u32::MAX),
        ] {
            v.extend_from_slice(&tag.to_le_bytes());
            v.extend_from_slice(&perm.to_le_bytes());
            v.extend_from_slice(&id.to_le_bytes());
        }
        assert_eq!(
            decode_acl(&v),
            vec![
                "user::rwx",
                "user:1000:r-x",
                "group::r-x",
                "mask::rwx",
                "other::r--"
            ]
        );
    }
}
