//! `cairn efi enroll`, `list` and `uki` outside firmware: the order and bytes of what
//! enroll writes (into a plain directory standing in for efivarfs), its refusals, and the
//! sections of a unified image. `firmware_update.rs` runs the same commands against real
//! firmware.

use std::path::Path;

use crate::util::{cairn, ok};

const STUB: &str = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub";
const DB_GUID: &str = "d719b2cb-3d3a-4596-a3bc-dad00e67656f";
const GLOBAL_GUID: &str = "8be4df61-93ca-11d2-aa0d-00e098032b8c";

fn keygen(dir: &Path) {
    ok(cairn()
        .args(["efi", "keygen", "--name", "Enroll Test", "--out"])
        .arg(dir));
}

fn stdout(out: std::process::Output) -> String {
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn enroll_writes_db_then_kek_then_pk_with_the_signed_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    keygen(&keys);
    let vars = dir.path().join("efivars");
    std::fs::create_dir(&vars).unwrap();

    let plan = stdout(ok(cairn()
        .args(["efi", "enroll", "--dry-run", "--dir"])
        .arg(&keys)
        .arg("--efivars")
        .arg(&vars)));
    let order: Vec<&str> = plan
        .lines()
        .map(|l| l.split_whitespace().nth(2).unwrap())
        .collect();
    assert_eq!(order, ["db", "KEK", "PK"], "{plan}");
    assert!(plan.contains("attributes 0x27"), "{plan}");
    assert_eq!(
        vars.read_dir().unwrap().count(),
        0,
        "a dry run wrote something"
    );

    let done = stdout(ok(cairn()
        .args(["efi", "enroll", "--dir"])
        .arg(&keys)
        .arg("--efivars")
        .arg(&vars)));
    assert!(
        done.find("db:").unwrap() < done.find("KEK:").unwrap()
            && done.find("KEK:").unwrap() < done.find("PK:").unwrap(),
        "{done}"
    );
    // Each file is the attributes, then the update, in one piece.
    for (name, guid) in [("db", DB_GUID), ("KEK", GLOBAL_GUID), ("PK", GLOBAL_GUID)] {
        let written = std::fs::read(vars.join(format!("{name}-{guid}"))).unwrap();
        let auth = std::fs::read(keys.join(format!("{name}.auth"))).unwrap();
        assert_eq!(&written[..4], &0x27u32.to_le_bytes());
        assert_eq!(&written[4..], &auth[..], "{name}");
    }

    // An append is written with EFI_VARIABLE_APPEND_WRITE, which its signature covers.
    let appended = dir.path().join("appended");
    std::fs::create_dir(&appended).unwrap();
    ok(cairn()
        .args(["efi", "enroll", "--append", "--db"])
        .arg(keys.join("db.auth"))
        .arg("--efivars")
        .arg(&appended));
    let written = std::fs::read(appended.join(format!("db-{DB_GUID}"))).unwrap();
    assert_eq!(&written[..4], &0x67u32.to_le_bytes());
}

#[test]
fn enroll_refuses_what_is_no_update_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    keygen(&keys);
    let vars = dir.path().join("efivars");
    std::fs::create_dir(&vars).unwrap();
    // A list where an update belongs: refused before anything is written, even the good
    // update given with it.
    let out = cairn()
        .args(["efi", "enroll", "--db"])
        .arg(keys.join("db.auth"))
        .arg("--pk")
        .arg(keys.join("PK.esl"))
        .arg("--efivars")
        .arg(&vars)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("PK.esl is not a signed update"), "{err}");
    assert_eq!(vars.read_dir().unwrap().count(), 0);
    // Truncated.
    let cut = dir.path().join("cut.auth");
    let auth = std::fs::read(keys.join("db.auth")).unwrap();
    std::fs::write(&cut, &auth[..auth.len() / 2]).unwrap();
    let out = cairn()
        .args(["efi", "enroll", "--db"])
        .arg(&cut)
        .arg("--efivars")
        .arg(&vars)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(vars.read_dir().unwrap().count(), 0);
    // Nothing to do, or no efivarfs.
    let out = cairn().args(["efi", "enroll"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to enroll"));
    let out = cairn()
        .args(["efi", "enroll", "--dir"])
        .arg(&keys)
        .arg("--efivars")
        .arg(dir.path().join("absent"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("efivarfs is not mounted"));
}

#[test]
fn list_prints_the_variables_enroll_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    keygen(&keys);
    let vars = dir.path().join("efivars");
    std::fs::create_dir(&vars).unwrap();
    // Variables as efivarfs shows them: attributes, then the value.
    let value = |v: &[u8]| [&7u32.to_le_bytes()[..], v].concat();
    std::fs::write(
        vars.join(format!("db-{DB_GUID}")),
        value(&std::fs::read(keys.join("db.esl")).unwrap()),
    )
    .unwrap();
    std::fs::write(vars.join(format!("SecureBoot-{GLOBAL_GUID}")), value(&[1])).unwrap();
    let listed = stdout(ok(cairn().args(["efi", "list", "--efivars"]).arg(&vars)));
    assert!(listed.contains("SecureBoot: 1"), "{listed}");
    assert!(listed.contains("SetupMode: (not set)"), "{listed}");
    assert!(listed.contains("PK: (not set)"), "{listed}");
    assert!(listed.contains("subject CN=Enroll Test db"), "{listed}");
    // A variable that is not a signature list is an error naming it.
    std::fs::write(vars.join(format!("dbx-{DB_GUID}")), value(b"garbage")).unwrap();
    let out = cairn()
        .args(["efi", "list", "--efivars"])
        .arg(&vars)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("dbx variable"));
}

#[test]
fn uki_adds_the_sections_objdump_reads_and_refuses_a_signed_stub() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let kernel = d.join("vmlinuz");
    let initrd = d.join("initrd");
    std::fs::write(&kernel, vec![0xAB; 100_000]).unwrap();
    std::fs::write(&initrd, vec![0xCD; 33_333]).unwrap();
    let uki = d.join("uki.efi");
    ok(cairn()
        .args(["efi", "uki", "--kernel"])
        .arg(&kernel)
        .arg("--initrd")
        .arg(&initrd)
        .args(["--cmdline", "console=ttyS0 quiet", "--uname", "6.1.0-test"])
        .arg("--out")
        .arg(&uki));
    let sections =
        String::from_utf8(ok(std::process::Command::new("objdump").arg("-h").arg(&uki)).stdout)
            .unwrap();
    for (name, size) in [
        (".cmdline", "00000013"),
        (".uname", "0000000a"),
        (".initrd", "00008235"),
        (".linux", "000186a0"),
    ] {
        let line = sections
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("no {name}:\n{sections}"));
        assert_eq!(line.split_whitespace().nth(2), Some(size), "{line}");
    }
    // The bytes are where the section table says.
    let dump = String::from_utf8(
        ok(std::process::Command::new("objdump")
            .args(["-s", "-j", ".cmdline"])
            .arg(&uki))
        .stdout,
    )
    .unwrap();
    assert!(dump.contains("console=ttyS0 qu"), "{dump}");

    // A signed stub is refused: the image is signed as a whole, after it is built.
    let keys = d.join("keys");
    keygen(&keys);
    let signed_stub = d.join("stub.signed");
    ok(cairn()
        .args(["efi", "sign", STUB, "--key"])
        .arg(keys.join("db.key"))
        .arg("--cert")
        .arg(keys.join("db.crt"))
        .arg("--out")
        .arg(&signed_stub));
    let out = cairn()
        .args(["efi", "uki", "--kernel"])
        .arg(&kernel)
        .arg("--stub")
        .arg(&signed_stub)
        .arg("--out")
        .arg(d.join("no.efi"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("the stub is signed"));
    assert!(!d.join("no.efi").exists());
}
