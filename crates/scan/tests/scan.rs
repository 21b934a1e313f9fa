//! Scans of trees built by the test: attributes round-trip, every change is categorised,
//! tampering is detected. Run as root (CI does): chown, mknod, capabilities and inode flags
//! need it.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

use cairn_scan::{ChangeKind, EntryType, Flag, Manifest, Record, Scanner};

fn require_root() {
    assert_eq!(
        unsafe_free_uid(),
        0,
        "these tests need root (chown, mknod, setcap, chattr): run them as root, as CI does"
    );
}

fn unsafe_free_uid() -> u32 {
    std::fs::metadata("/proc/self").unwrap().uid()
}

fn run(cmd: &str, args: &[&OsStr]) {
    let status = Command::new(cmd)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(status.success(), "{cmd} {args:?}");
}

/// Scans `root`, writes the manifest, reads it back (trailer checked).
fn scan(root: &Path) -> Manifest {
    let scan = Scanner::new(vec![root.to_path_buf()])
        .blake3(true)
        .scan()
        .unwrap();
    let mut bytes = Vec::new();
    Manifest::write(&scan, &mut bytes).unwrap();
    let back = Manifest::read(&bytes[..]).unwrap();
    assert_eq!(
        back.records, scan.records,
        "records do not round-trip through the file"
    );
    back
}

fn find<'a>(m: &'a Manifest, path: &Path) -> &'a Record {
    m.records
        .iter()
        .find(|r| r.path_buf() == path)
        .unwrap_or_else(|| panic!("{} not recorded", path.display()))
}

/// A tree holding one of every kind of entry and attribute.
fn build(root: &Path) {
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    std::fs::write(root.join("usr/bin/tool"), b"#!/bin/sh\necho tool\n").unwrap();
    std::fs::write(root.join("data.txt"), b"hello").unwrap();
    std::fs::hard_link(root.join("data.txt"), root.join("data.link")).unwrap();
    symlink("data.txt", root.join("sym")).unwrap();
    std::fs::write(root.join(OsStr::from_bytes(b"bad-\xff-name")), b"x").unwrap();
    run("mkfifo", &[root.join("fifo").as_os_str()]);
    run(
        "mknod",
        &[
            root.join("null").as_os_str(),
            OsStr::new("c"),
            OsStr::new("1"),
            OsStr::new("3"),
        ],
    );
    let _socket = std::os::unix::net::UnixListener::bind(root.join("sock")).unwrap();
    std::fs::set_permissions(
        root.join("usr/bin/tool"),
        std::fs::Permissions::from_mode(0o4755),
    )
    .unwrap();
    std::os::unix::fs::chown(root.join("data.txt"), Some(1234), Some(5678)).unwrap();
    // cap_net_raw+ep, revision 2, exactly what `setcap cap_net_raw+ep` writes.
    xattr::set(
        root.join("usr/bin/tool"),
        "security.capability",
        &hex("0100000200200000000000000000000000000000"),
    )
    .unwrap();
    // user::rw- user:1000:r-- group::r-- mask::r-- other::r--
    let mut acl = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in [
        (1u16, 6u16, u32::MAX),
        (2, 4, 1000),
        (4, 4, u32::MAX),
        (0x10, 4, u32::MAX),
        (0x20, 4, u32::MAX),
    ] {
        acl.extend_from_slice(&tag.to_le_bytes());
        acl.extend_from_slice(&perm.to_le_bytes());
        acl.extend_from_slice(&id.to_le_bytes());
    }
    xattr::set(root.join("data.txt"), "system.posix_acl_access", &acl).unwrap();
    xattr::set(root.join("data.txt"), "security.ima", &hex("0404aabbccdd")).unwrap();
    xattr::set(
        root.join("data.txt"),
        "security.selinux",
        b"system_u:object_r:bin_t:s0\0",
    )
    .unwrap();
    run(
        "chattr",
        &[OsStr::new("+a"), root.join("usr/bin").as_os_str()],
    );
}

fn unbuild(root: &Path) {
    let _ = Command::new("chattr")
        .args([OsStr::new("-a"), root.join("usr/bin").as_os_str()])
        .status();
    let _ = Command::new("chattr")
        .args([OsStr::new("-i"), root.join("data.txt").as_os_str()])
        .status();
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn every_attribute_round_trips() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tree");
    build(&root);
    let m = scan(&root);
    unbuild(&root);

    let data = find(&m, &root.join("data.txt"));
    let meta = std::fs::symlink_metadata(root.join("data.txt")).unwrap();
    assert_eq!(data.kind, Some(EntryType::File));
    assert_eq!((data.uid, data.gid), (Some(1234), Some(5678)));
    assert_eq!(data.size, Some(5));
    assert_eq!(data.nlink, Some(2));
    assert_eq!((data.ino, data.dev), (Some(meta.ino()), Some(meta.dev())));
    assert_eq!(
        data.mtime_ns,
        Some(i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()))
    );
    assert_eq!(
        data.sha256.as_deref(),
        Some("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
    );
    assert_eq!(
        data.blake3.as_deref(),
        Some("ea8f163db38682925e4491c5e58d4bb3506ef8c14eb78a86e908c5624a67200f")
    );
    assert_eq!(
        data.acl_access.as_deref().unwrap(),
        [
            "user::rw-",
            "user:1000:r--",
            "group::r--",
            "mask::r--",
            "other::r--"
        ]
    );

    let tool = find(&m, &root.join("usr/bin/tool"));
    assert_eq!(tool.perm(), Some(0o4755));
    let cap = tool.capability.as_ref().unwrap();
    assert!(cap.effective);
    assert_eq!(cap.permitted, ["cap_net_raw"]);
    assert_eq!(
        find(&m, &root.join("usr/bin")).flags.as_deref(),
        Some(&["append".to_owned()][..])
    );

    assert_eq!(find(&m, &root.join("sym")).kind, Some(EntryType::Symlink));
    assert_eq!(
        find(&m, &root.join("sym")).target.as_deref(),
        Some("data.txt")
    );
    assert_eq!(find(&m, &root.join("fifo")).kind, Some(EntryType::Fifo));
    assert_eq!(find(&m, &root.join("sock")).kind, Some(EntryType::Socket));
    let null = find(&m, &root.join("null"));
    assert_eq!(
        (null.kind, null.rdev),
        (Some(EntryType::Char), Some((1, 3)))
    );
    let bad = root.join(OsStr::from_bytes(b"bad-\xff-name"));
    let rec = find(&m, &bad);
    assert!(
        rec.path.is_none() && rec.path_hex.is_some(),
        "non-UTF-8 path must be kept as bytes"
    );
    assert_eq!(rec.path_buf(), bad);
    assert!(
        m.records.iter().all(|r| r.error.is_none()),
        "{:?}",
        m.records
            .iter()
            .filter(|r| r.error.is_some())
            .collect::<Vec<_>>()
    );
    // Sorted by path bytes, root first.
    assert_eq!(m.records[0].path_buf(), root);
    let paths: Vec<PathBuf> = m.records.iter().map(Record::path_buf).collect();
    let mut sorted = paths.clone();
    sorted.sort_by(|a, b| a.as_os_str().as_bytes().cmp(b.as_os_str().as_bytes()));
    assert_eq!(paths, sorted);
}

#[test]
fn every_kind_of_change_lands_in_its_category() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tree");
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    for f in [
        "content",
        "suid",
        "owner",
        "cap",
        "gone",
        "becomes_dir",
        "flagged",
        "ww",
    ] {
        std::fs::write(root.join(f), f.as_bytes()).unwrap();
    }
    std::fs::write(root.join("usr/bin/ls"), b"ls").unwrap();
    symlink("content", root.join("link")).unwrap();
    let before = scan(&root);

    std::fs::write(root.join("content"), b"changed").unwrap();
    std::fs::write(root.join("usr/bin/ls"), b"trojan").unwrap();
    std::fs::set_permissions(root.join("suid"), std::fs::Permissions::from_mode(0o4755)).unwrap();
    std::os::unix::fs::chown(root.join("owner"), Some(42), Some(42)).unwrap();
    xattr::set(
        root.join("cap"),
        "security.capability",
        &hex("0100000200200000000000000000000000000000"),
    )
    .unwrap();
    std::fs::remove_file(root.join("gone")).unwrap();
    std::fs::remove_file(root.join("becomes_dir")).unwrap();
    std::fs::create_dir(root.join("becomes_dir")).unwrap();
    std::fs::remove_file(root.join("link")).unwrap();
    symlink("owner", root.join("link")).unwrap();
    std::fs::write(root.join("added"), b"new").unwrap();
    std::fs::write(root.join("added_ww"), b"new").unwrap();
    std::fs::set_permissions(
        root.join("added_ww"),
        std::fs::Permissions::from_mode(0o666),
    )
    .unwrap();
    std::fs::set_permissions(root.join("ww"), std::fs::Permissions::from_mode(0o646)).unwrap();
    run(
        "chattr",
        &[OsStr::new("+i"), root.join("flagged").as_os_str()],
    );
    let after = scan(&root);
    run(
        "chattr",
        &[OsStr::new("-i"), root.join("flagged").as_os_str()],
    );

    let d = cairn_scan::diff(&before, &after);
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let paths = |kind| -> Vec<String> {
        sorted(
            d.of(kind)
                .map(|c| c.path.strip_prefix(&root).unwrap().display().to_string())
                .collect(),
        )
    };
    let flagged = |flag| -> Vec<String> {
        sorted(
            d.flagged(flag)
                .map(|c| c.path.strip_prefix(&root).unwrap().display().to_string())
                .collect(),
        )
    };
    assert_eq!(
        paths(ChangeKind::Content),
        ["content", "link", "usr/bin/ls"]
    );
    assert_eq!(paths(ChangeKind::Mode), ["suid", "ww"]);
    assert_eq!(paths(ChangeKind::Owner), ["owner"]);
    assert_eq!(paths(ChangeKind::Capability), ["cap"]);
    assert_eq!(paths(ChangeKind::Removed), ["gone"]);
    assert_eq!(paths(ChangeKind::Type), ["becomes_dir"]);
    assert_eq!(paths(ChangeKind::Added), ["added", "added_ww"]);
    assert_eq!(paths(ChangeKind::Flags), ["flagged"]);
    assert_eq!(flagged(Flag::Setuid), ["suid"]);
    assert_eq!(flagged(Flag::Capability), ["cap"]);
    assert_eq!(flagged(Flag::WorldWritable), ["added_ww", "ww"]);
    assert_eq!(flagged(Flag::SystemBinary), ["usr/bin/ls"]);
    // Flagged changes come first.
    let first_unflagged = d.changes.iter().position(|c| c.flags.is_empty()).unwrap();
    assert!(
        d.changes[first_unflagged..]
            .iter()
            .all(|c| c.flags.is_empty())
    );
    assert!(cairn_scan::diff(&after, &after).is_empty());
}

#[test]
fn tampering_and_truncation_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a"), b"a").unwrap();
    std::fs::write(dir.path().join("b"), b"b").unwrap();
    let scan = Scanner::new(vec![dir.path().to_path_buf()]).scan().unwrap();
    let mut bytes = Vec::new();
    Manifest::write(&scan, &mut bytes).unwrap();
    assert!(Manifest::read(&bytes[..]).is_ok());
    let text = String::from_utf8(bytes.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();

    // Truncated at every line boundary and mid-line.
    for cut in [bytes.len() - 1, bytes.len() / 2, lines[0].len() + 1, 10] {
        assert!(
            Manifest::read(&bytes[..cut]).is_err(),
            "truncated at {cut} accepted"
        );
    }
    // One entry edited (its digest), one removed, one appended after the trailer.
    let edited = text.replacen("\"sha256\":\"ca978112", "\"sha256\":\"ca978113", 1);
    assert_ne!(edited, text);
    let removed: String = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 2)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let appended = format!("{text}{}\n", lines[1]);
    for (what, bad) in [
        ("edited", edited),
        ("removed", removed),
        ("appended", appended),
    ] {
        let err = Manifest::read(bad.as_bytes()).unwrap_err();
        assert!(
            matches!(err, cairn_scan::Error::Integrity(_)),
            "{what}: {err}"
        );
    }
    assert!(Manifest::read(&b"not json\n"[..]).is_err());
}

#[test]
fn excludes_and_vanished_roots() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("keep/skip")).unwrap();
    std::fs::write(dir.path().join("keep/skip/x"), b"x").unwrap();
    std::fs::write(dir.path().join("keep/y.log"), b"y").unwrap();
    std::fs::write(dir.path().join("keep/z"), b"z").unwrap();
    let scan = Scanner::new(vec![dir.path().join("keep")])
        .exclude("**/skip")
        .exclude("*.log")
        .scan()
        .unwrap();
    let names: Vec<String> = scan
        .records
        .iter()
        .map(|r| {
            r.path_buf()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(names, ["keep", "z"]);
    assert!(
        Scanner::new(vec![dir.path().join("missing")])
            .scan()
            .is_err()
    );
    assert!(
        Scanner::new(vec![dir.path().to_path_buf()])
            .exclude("[")
            .scan()
            .is_err()
    );
}

/// /dev/pts is its own filesystem on Linux: with one_file_system the mount point is
/// recorded but nothing below it.
#[test]
fn one_file_system_stops_at_mount_points() {
    let dev = std::fs::metadata("/dev").unwrap().dev();
    let pts = std::fs::metadata("/dev/pts").unwrap().dev();
    assert_ne!(
        dev, pts,
        "this test needs /dev/pts mounted separately from /dev"
    );
    let below = |m: &cairn_scan::Scan| {
        m.records
            .iter()
            // Path::starts_with compares components: "/dev/pts" itself would match.
            .filter(|r| {
                r.path_buf().starts_with("/dev/pts") && r.path_buf() != Path::new("/dev/pts")
            })
            .count()
    };
    let stay = Scanner::new(vec!["/dev".into()])
        .one_file_system(true)
        .scan()
        .unwrap();
    let cross = Scanner::new(vec!["/dev".into()]).scan().unwrap();
    assert_eq!(below(&stay), 0);
    assert!(below(&cross) > 0);
    assert!(
        stay.records
            .iter()
            .any(|r| r.path_buf() == Path::new("/dev/pts"))
    );
}

#[test]
fn a_scan_below_a_root_records_paths_as_that_system_sees_them() {
    let dir = tempfile::tempdir().unwrap();
    let sysroot = dir.path().join("sysroot");
    std::fs::create_dir_all(sysroot.join("usr/bin")).unwrap();
    std::fs::create_dir_all(sysroot.join("proc/1")).unwrap();
    std::fs::write(sysroot.join("usr/bin/tool"), b"tool").unwrap();
    std::fs::write(sysroot.join("proc/1/status"), b"x").unwrap();
    symlink("/usr/bin/tool", sysroot.join("usr/bin/link")).unwrap();
    let scan = Scanner::new(vec!["/".into()])
        .root(&sysroot)
        .exclude("/proc/**")
        .scan()
        .unwrap();
    let paths: Vec<PathBuf> = scan.records.iter().map(Record::path_buf).collect();
    let expect: Vec<PathBuf> = [
        "/",
        "/proc",
        "/usr",
        "/usr/bin",
        "/usr/bin/link",
        "/usr/bin/tool",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    assert_eq!(
        paths, expect,
        "paths below the root, excludes as seen from it"
    );
    assert_eq!(scan.header.roots, vec!["/".to_owned()]);
    let link = scan
        .records
        .iter()
        .find(|r| r.path_buf() == Path::new("/usr/bin/link"));
    assert_eq!(link.unwrap().target.as_deref(), Some("/usr/bin/tool"));
    // The same file under the root and taken from the host hash alike.
    let tool = |m: &[Record], p: &str| {
        m.iter()
            .find(|r| r.path_buf() == Path::new(p))
            .unwrap()
            .sha256
            .clone()
    };
    let host = Scanner::new(vec![sysroot.join("usr")]).scan().unwrap();
    let on_host = sysroot.join("usr/bin/tool");
    assert_eq!(
        tool(&scan.records, "/usr/bin/tool"),
        tool(&host.records, on_host.to_str().unwrap())
    );
    // A root under --root that climbs out of it is refused.
    let err = Scanner::new(vec!["/../etc".into()])
        .root(&sysroot)
        .scan()
        .unwrap_err();
    assert!(err.to_string().contains("climb out"), "{err}");
}
