//! The firmware decides: real UEFI firmware (Debian's OVMF Secure Boot build under QEMU,
//! TCG) enrolled with a key set `cairn efi keygen` made boots an image `cairn efi sign`
//! signed, and refuses an unsigned one, one signed by a key outside db, and db-signed ones
//! whose certificate or digest a Cairn-made dbx lists. `./scripts/test` installs
//! qemu-system-x86, ovmf and (PyPI) virt-firmware, whose `virt-fw-vars` enrolls the keys
//! into the variable store offline; dbx goes in as the `.auth` file Cairn signed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{cairn, ok};

const HELLO: &str = "/usr/lib/efitools/x86_64-linux-gnu/HelloWorld.efi";
const CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd";
const VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";
/// What HelloWorld.efi prints once the firmware has started it.
const STARTED: &str = "To execute an unsigned binary";

fn need(path: &str) {
    assert!(
        Path::new(path).exists(),
        "{path} is missing: install Debian's ovmf, qemu-system-x86 and efitools (./scripts/test does)"
    );
}

/// A variable store with PK, KEK and db from `keys`, Secure Boot on, and `dbx` (a signed
/// update) if given.
fn enroll(dir: &Path, keys: &Path, dbx: Option<&Path>, db_hash: Option<&str>) -> PathBuf {
    let guid = std::fs::read_to_string(keys.join("GUID")).unwrap();
    let out = dir.join(format!("vars-{}.fd", dir.read_dir().unwrap().count()));
    let mut cmd = Command::new("virt-fw-vars");
    cmd.args(["-i", VARS, "-o"]).arg(&out);
    for (flag, file) in [
        ("--set-pk", "PK.crt"),
        ("--add-kek", "KEK.crt"),
        ("--add-db", "db.crt"),
    ] {
        cmd.args([flag, guid.trim()]).arg(keys.join(file));
    }
    if let Some(dbx) = dbx {
        cmd.arg("--set-dbx").arg(dbx);
    }
    if let Some(hash) = db_hash {
        cmd.args(["--add-db-hash", guid.trim(), hash]);
    }
    cmd.arg("--sb");
    let out_status = cmd.output().unwrap_or_else(|e| {
        panic!("virt-fw-vars: {e} (pip install virt-firmware; ./scripts/test does)")
    });
    assert!(out_status.status.success(), "virt-fw-vars: {out_status:?}");
    out
}

/// Boots `image` as the removable-media loader under the Secure Boot firmware with `vars`
/// and returns the serial console once the firmware has decided (or after 120 s).
fn boot(dir: &Path, vars: &Path, image: &Path) -> String {
    let esp = dir.join(format!("esp-{}", dir.read_dir().unwrap().count()));
    std::fs::create_dir_all(esp.join("EFI/BOOT")).unwrap();
    std::fs::copy(image, esp.join("EFI/BOOT/BOOTX64.EFI")).unwrap();
    let serial = dir.join(format!("serial-{}.log", dir.read_dir().unwrap().count()));
    let mut qemu = Command::new("qemu-system-x86_64")
        .args([
            "-machine",
            "q35,smm=on",
            "-accel",
            "tcg",
            "-m",
            "256",
            "-no-reboot",
            "-net",
            "none",
        ])
        .args([
            "-display",
            "none",
            "-global",
            "driver=cfi.pflash01,property=secure,value=on",
        ])
        .arg("-drive")
        .arg(format!(
            "if=pflash,format=raw,unit=0,file={CODE},readonly=on"
        ))
        .arg("-drive")
        .arg(format!(
            "if=pflash,format=raw,unit=1,file={}",
            vars.display()
        ))
        .arg("-drive")
        .arg(format!("file=fat:rw:{},format=raw", esp.display()))
        .arg("-serial")
        .arg(format!("file:{}", serial.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("qemu-system-x86_64 (install Debian's qemu-system-x86; ./scripts/test does)");
    let deadline = Instant::now() + Duration::from_secs(120);
    let text = loop {
        std::thread::sleep(Duration::from_millis(250));
        let text =
            String::from_utf8_lossy(&std::fs::read(&serial).unwrap_or_default()).into_owned();
        let decided = text.contains(STARTED) || text.contains("Access Denied");
        if decided || Instant::now() > deadline {
            break text;
        }
    };
    let _ = qemu.kill();
    let _ = qemu.wait();
    text
}

fn started(log: &str) -> bool {
    log.contains("BdsDxe: starting Boot0002") && log.contains(STARTED)
}

fn denied(log: &str) -> bool {
    log.contains("BdsDxe: failed to load Boot0002")
        && log.contains("Access Denied")
        && !log.contains(STARTED)
}

#[test]
fn the_firmware_boots_what_cairn_signed_and_refuses_the_rest() {
    need(CODE);
    need(VARS);
    need(HELLO);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let keys = d.join("keys");
    let stranger = d.join("stranger");
    ok(cairn()
        .args(["efi", "keygen", "--name", "Firmware Test", "--out"])
        .arg(&keys));
    ok(cairn()
        .args(["efi", "keygen", "--name", "Stranger", "--out"])
        .arg(&stranger));
    let sign = |with: &Path, out: &str| {
        let out = d.join(out);
        ok(cairn()
            .args(["efi", "sign", HELLO, "--key"])
            .arg(with.join("db.key"))
            .arg("--cert")
            .arg(with.join("db.crt"))
            .arg("--out")
            .arg(&out));
        out
    };
    let signed = sign(&keys, "signed.efi");
    let foreign = sign(&stranger, "foreign.efi");
    let vars = enroll(d, &keys, None, None);

    let log = boot(d, &vars, &signed);
    assert!(started(&log), "a Cairn-signed image did not boot:\n{log}");
    let log = boot(d, &vars, Path::new(HELLO));
    assert!(denied(&log), "an unsigned image was not refused:\n{log}");
    let log = boot(d, &vars, &foreign);
    assert!(
        denied(&log),
        "an image signed outside db was not refused:\n{log}"
    );
    // The foreign-signed image, signed again by db's key: the second signature allows it.
    let both = d.join("both.efi");
    ok(cairn()
        .args(["efi", "sign"])
        .arg(&foreign)
        .arg("--key")
        .arg(keys.join("db.key"))
        .arg("--cert")
        .arg(keys.join("db.crt"))
        .arg("--out")
        .arg(&both));
    let log = boot(d, &vars, &both);
    assert!(
        started(&log),
        "a second, db-trusted signature did not allow the image:\n{log}"
    );

    // dbx, made and signed (by KEK) by Cairn: db's certificate, or the image's digest.
    let guid = std::fs::read_to_string(keys.join("GUID")).unwrap();
    let dbx = |what: &str, file: &Path, name: &str| {
        let esl = d.join(format!("{name}.esl"));
        let auth = d.join(format!("{name}.auth"));
        ok(cairn()
            .args(["efi", "esl", "--owner", guid.trim(), what])
            .arg(file)
            .arg("--out")
            .arg(&esl));
        ok(cairn()
            .args(["efi", "auth", "dbx"])
            .arg(&esl)
            .arg("--key")
            .arg(keys.join("KEK.key"))
            .arg("--cert")
            .arg(keys.join("KEK.crt"))
            .arg("--out")
            .arg(&auth));
        auth
    };
    let by_cert = enroll(
        d,
        &keys,
        Some(&dbx("--cert", &keys.join("db.crt"), "dbx-cert")),
        None,
    );
    let log = boot(d, &by_cert, &signed);
    assert!(
        denied(&log),
        "an image whose certificate is in dbx was not refused:\n{log}"
    );
    // Two signatures, the second one db trusts: the first's signer in dbx still refuses it.
    let foreign_out = enroll(
        d,
        &keys,
        Some(&dbx("--cert", &stranger.join("db.crt"), "dbx-foreign")),
        None,
    );
    let log = boot(d, &foreign_out, &both);
    assert!(
        denied(&log),
        "an image with one signature in dbx was not refused:\n{log}"
    );
    let by_hash = enroll(d, &keys, Some(&dbx("--hash", &signed, "dbx-hash")), None);
    let log = boot(d, &by_hash, &signed);
    assert!(
        denied(&log),
        "an image whose digest is in dbx was not refused:\n{log}"
    );

    // An unsigned image allowed by its digest in db. Its length is not a multiple of 8: the
    // firmware hashes it as it is, as `cairn efi hash` does, not padded as sbsign pads
    // (and efitools' hash-to-efi-sig-list hashes).
    let hash_of = |path: &Path| {
        let said = String::from_utf8(ok(cairn().args(["efi", "hash"]).arg(path)).stdout).unwrap();
        said.split_whitespace().next().unwrap().to_owned()
    };
    let odd = d.join("odd.efi");
    let mut bytes = std::fs::read(HELLO).unwrap();
    bytes.extend_from_slice(b"odd");
    std::fs::write(&odd, &bytes).unwrap();
    let digest = hash_of(&odd);
    let log = boot(d, &enroll(d, &keys, None, Some(&digest)), &odd);
    assert!(
        started(&log),
        "an image whose digest is in db did not boot:\n{log}"
    );
    bytes.resize(bytes.len().next_multiple_of(8), 0);
    let padded_path = d.join("padded.efi");
    std::fs::write(&padded_path, &bytes).unwrap();
    let padded = hash_of(&padded_path);
    assert_ne!(padded, digest);
    let log = boot(d, &enroll(d, &keys, None, Some(&padded)), &odd);
    assert!(denied(&log), "the padded digest allowed the image:\n{log}");
}
