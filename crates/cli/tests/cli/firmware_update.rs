//! The firmware takes updates from a running system: a Cairn-built, Cairn-signed unified
//! kernel image (Debian's cloud kernel with a busybox initramfs holding `cairn`) boots under
//! Secure Boot, and inside it `cairn efi enroll` writes a Cairn-made db append and dbx
//! append through efivarfs. The firmware accepts them, and refuses a db append signed by a
//! key outside KEK; the next boots enforce the new lists.
//!
//! `./scripts/test` downloads Debian's `linux-image-cloud-amd64` and unpacks its kernel and
//! efivarfs module into `target/test-kernel` (or `CAIRN_TEST_KERNEL_DIR`), and installs
//! busybox-static.

use std::path::{Path, PathBuf};

use crate::util::{cairn, ok};
use crate::vm::{
    CODE, HELLO, VARS, boot, denied, enroll, hello_boot, kernel_dir, need, sign, started,
};

const BUSYBOX: &str = "/bin/busybox";
/// What the initramfs prints once it has done everything.
const DONE: &str = "CAIRN-DONE";

/// One newc cpio entry (what the kernel unpacks an initramfs from).
fn cpio_entry(out: &mut Vec<u8>, name: &str, mode: u32, data: &[u8]) {
    let n = out.len() / 64 + 1;
    let fields = [n as u32, mode, 0, 0, 1, 0, data.len() as u32, 0, 0, 0, 0];
    out.extend_from_slice(b"070701");
    for f in fields {
        out.extend_from_slice(format!("{f:08x}").as_bytes());
    }
    out.extend_from_slice(format!("{:08x}{:08x}", name.len() + 1, 0).as_bytes());
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    out.resize(out.len().next_multiple_of(4), 0);
    out.extend_from_slice(data);
    out.resize(out.len().next_multiple_of(4), 0);
}

/// An initramfs: busybox, a stripped `cairn` with its libraries, the efivarfs module, the
/// updates, and `init`.
fn initramfs(dir: &Path, init: &str, files: &[(&str, &Path)]) -> PathBuf {
    let stripped = dir.join("cairn.stripped");
    let status = std::process::Command::new("objcopy")
        .arg("--strip-all")
        .arg(env!("CARGO_BIN_EXE_cairn"))
        .arg(&stripped)
        .status()
        .expect("objcopy (binutils)");
    assert!(status.success());
    let mut out = Vec::new();
    for d in [
        "bin",
        "dev",
        "proc",
        "sys",
        "lib",
        "lib64",
        "lib/x86_64-linux-gnu",
    ] {
        cpio_entry(&mut out, d, 0o40755, &[]);
    }
    let exe = |out: &mut Vec<u8>, name: &str, from: &Path| {
        let data = std::fs::read(from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
        cpio_entry(out, name, 0o100755, &data);
    };
    exe(&mut out, "bin/busybox", Path::new(BUSYBOX));
    exe(&mut out, "bin/cairn", &stripped);
    // The C libraries `cairn` links, as ldd names them.
    let ldd = std::process::Command::new("ldd")
        .arg(&stripped)
        .output()
        .unwrap();
    for line in String::from_utf8_lossy(&ldd.stdout).lines() {
        let path = line.split_whitespace().find(|w| w.starts_with('/'));
        if let Some(path) = path {
            exe(&mut out, path.trim_start_matches('/'), Path::new(path));
        }
    }
    exe(&mut out, "efivarfs.ko", &kernel_dir().join("efivarfs.ko"));
    for (name, from) in files {
        exe(&mut out, name, from);
    }
    cpio_entry(&mut out, "init", 0o100755, init.as_bytes());
    cpio_entry(&mut out, "TRAILER!!!", 0, &[]);
    let path = dir.join("initramfs.cpio");
    std::fs::write(&path, out).unwrap();
    path
}

const INIT: &str = r#"#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
insmod /efivarfs.ko
mount -t efivarfs efivarfs /sys/firmware/efi/efivars
db=/sys/firmware/efi/efivars/db-d719b2cb-3d3a-4596-a3bc-dad00e67656f
# Opening for append writes nothing, and fails on an immutable file.
probe() { if ( : >> "$db" ) 2>/dev/null; then echo mutable; else echo immutable; fi; }
echo "CAIRN-BEFORE $(probe)"
cairn efi enroll --append --db /wrong.auth
echo "CAIRN-WRONG rc=$?"
cairn efi enroll --append --db /db-append.auth --dbx /dbx-append.auth
echo "CAIRN-GOOD rc=$?"
echo "CAIRN-AFTER $(probe)"
cairn efi list
echo CAIRN-DONE
poweroff -f
"#;

/// A signed append of `what` (`--cert FILE` or `--hash IMAGE`) to `var`, signed by `by`'s
/// KEK.
fn append(d: &Path, var: &str, what: (&str, &Path), by: &Path, name: &str) -> PathBuf {
    let guid = std::fs::read_to_string(by.join("GUID")).unwrap();
    let esl = d.join(format!("{name}.esl"));
    ok(cairn()
        .args(["efi", "esl", "--owner", guid.trim(), what.0])
        .arg(what.1)
        .arg("--out")
        .arg(&esl));
    let auth = d.join(format!("{name}.auth"));
    ok(cairn()
        .args(["efi", "auth", var, "--append"])
        .arg(&esl)
        .arg("--key")
        .arg(by.join("KEK.key"))
        .arg("--cert")
        .arg(by.join("KEK.crt"))
        .arg("--out")
        .arg(&auth));
    auth
}

fn hash_of(image: &Path) -> String {
    let said = String::from_utf8(ok(cairn().args(["efi", "hash"]).arg(image)).stdout).unwrap();
    said.split_whitespace().next().unwrap().to_owned()
}

#[test]
fn a_running_system_updates_db_and_dbx_and_the_next_boot_enforces_them() {
    for path in [CODE, VARS, HELLO, BUSYBOX] {
        need(path);
    }
    let kernel = kernel_dir().join("vmlinuz");
    assert!(
        kernel.exists(),
        "{} is missing: ./scripts/test downloads Debian's cloud kernel there",
        kernel.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (keys, other) = (d.join("keys"), d.join("other"));
    for (out, name) in [(&keys, "Fleet"), (&other, "New Signer")] {
        ok(cairn()
            .args(["efi", "keygen", "--name", name, "--out"])
            .arg(out));
    }
    // Two images with different digests (the digest leaves signatures out, so signing one
    // image twice would not do): HelloWorld, and HelloWorld with data past its last section.
    let (old, new) = (d.join("old.efi"), d.join("new.efi"));
    let longer = d.join("longer.efi");
    let mut bytes = std::fs::read(HELLO).unwrap();
    bytes.extend_from_slice(&[0x5a; 64]);
    std::fs::write(&longer, bytes).unwrap();
    sign(&longer, &keys, &old);
    sign(Path::new(HELLO), &other, &new);
    assert_ne!(hash_of(&old), hash_of(&new));
    let db_append = append(
        d,
        "db",
        ("--cert", &other.join("db.crt")),
        &keys,
        "db-append",
    );
    let dbx_append = append(d, "dbx", ("--hash", &old), &keys, "dbx-append");
    // The same db append, signed by a KEK the firmware does not have.
    let wrong = append(d, "db", ("--cert", &other.join("db.crt")), &other, "wrong");

    let initrd = initramfs(
        d,
        INIT,
        &[
            ("db-append.auth", &db_append),
            ("dbx-append.auth", &dbx_append),
            ("wrong.auth", &wrong),
        ],
    );
    let uki = d.join("updater.efi");
    ok(cairn()
        .args(["efi", "uki", "--kernel"])
        .arg(&kernel)
        .arg("--initrd")
        .arg(&initrd)
        .args(["--cmdline", "console=ttyS0 panic=-1 loglevel=4"])
        .arg("--out")
        .arg(&uki));
    let signed_uki = d.join("updater.signed.efi");
    sign(&uki, &keys, &signed_uki);

    let vars = enroll(d, &keys, None, None);
    // Before the update: db does not allow the new signer, and dbx does not list the old
    // image.
    let log = hello_boot(d, &vars, &new);
    assert!(denied(&log), "an image outside db booted:\n{log}");
    let log = hello_boot(d, &vars, &old);
    assert!(started(&log), "a db-signed image did not boot:\n{log}");

    let log = boot(d, &vars, &signed_uki, &[DONE, "Kernel panic"], 1024);
    assert!(
        log.contains("EFI stub: UEFI Secure Boot is enabled.") && log.contains("SecureBoot: 1"),
        "the unified kernel image did not boot under Secure Boot:\n{log}"
    );
    assert!(log.contains(DONE), "the initramfs did not finish:\n{log}");
    assert!(
        log.contains("CAIRN-WRONG rc=2") && log.contains("the firmware refused the update of db"),
        "an update signed outside KEK was not refused:\n{log}"
    );
    assert!(
        log.contains("db: appended from /db-append.auth")
            && log.contains("dbx: appended from /dbx-append.auth")
            && log.contains("CAIRN-GOOD rc=0"),
        "the firmware did not take the updates:\n{log}"
    );
    assert!(
        log.contains("CAIRN-BEFORE immutable") && log.contains("CAIRN-AFTER immutable"),
        "efivarfs's immutable flag on db was not there before, or not set again after:\n{log}"
    );
    let listed = &log[log.find("CAIRN-AFTER").unwrap()..];
    assert!(
        listed.contains("subject CN=Fleet db") && listed.contains("subject CN=New Signer db"),
        "db does not hold both certificates:\n{listed}"
    );
    assert!(
        listed.contains(&hash_of(&old)),
        "dbx does not hold the old image's digest:\n{listed}"
    );

    // The next boots: the appended signer is allowed, the image dbx now lists is refused.
    let log = hello_boot(d, &vars, &new);
    assert!(
        started(&log),
        "the signer appended to db was not allowed:\n{log}"
    );
    let log = hello_boot(d, &vars, &old);
    assert!(
        denied(&log),
        "the image appended to dbx still booted:\n{log}"
    );
}
