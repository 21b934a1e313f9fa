//! Booting images under real UEFI firmware: Debian's OVMF Secure Boot build under QEMU
//! (TCG; KVM does not run here), `q35,smm=on` with secure pflash, the image as the
//! removable-media loader on a vvfat ESP, the serial console to a file. The variable store
//! is a file, so what the firmware writes to it (a runtime update) is there the next boot.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// efitools' test image.
pub const HELLO: &str = "/usr/lib/efitools/x86_64-linux-gnu/HelloWorld.efi";
/// The Secure Boot firmware.
pub const CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd";
/// The empty variable store it starts from.
pub const VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";
/// What HelloWorld.efi prints once the firmware has started it.
pub const STARTED: &str = "To execute an unsigned binary";

/// Where `./scripts/test` unpacked Debian's cloud kernel (`vmlinuz`, `efivarfs.ko`, and the
/// whole package under `root/` with its modules indexed), or `CAIRN_TEST_KERNEL_DIR`.
pub fn kernel_dir() -> PathBuf {
    std::env::var_os("CAIRN_TEST_KERNEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-kernel"))
}

/// Signs an EFI image with the db key of the key set `keys` (`cairn efi sign`).
pub fn sign(image: &Path, keys: &Path, out: &Path) {
    crate::util::ok(
        crate::util::cairn()
            .args(["efi", "sign"])
            .arg(image)
            .arg("--key")
            .arg(keys.join("db.key"))
            .arg("--cert")
            .arg(keys.join("db.crt"))
            .arg("--out")
            .arg(out),
    );
}

/// Fails with what to install when `path` is missing.
pub fn need(path: &str) {
    assert!(
        Path::new(path).exists(),
        "{path} is missing: install Debian's ovmf, qemu-system-x86 and efitools (./scripts/test does)"
    );
}

/// A new file name in `dir`, numbered so that no two are alike.
fn fresh(dir: &Path, stem: &str, ext: &str) -> PathBuf {
    let n = dir.read_dir().map(|r| r.count()).unwrap_or(0);
    dir.join(format!("{stem}-{n}{ext}"))
}

/// A variable store with PK, KEK and db from the key set `keys` (`cairn efi keygen`) and
/// Secure Boot on, with `dbx` (a signed update) and a db digest if given, enrolled offline
/// by `virt-fw-vars` (PyPI virt-firmware).
pub fn enroll(dir: &Path, keys: &Path, dbx: Option<&Path>, db_hash: Option<&str>) -> PathBuf {
    let guid = std::fs::read_to_string(keys.join("GUID")).unwrap();
    let out = fresh(dir, "vars", ".fd");
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

/// Boots `image` with the variable store `vars` and `memory_mb` of RAM, and returns the
/// serial console once it shows one of `until` (or after 240 s). The store is written in
/// place: what the firmware records stays for the next boot.
pub fn boot(dir: &Path, vars: &Path, image: &Path, until: &[&str], memory_mb: u32) -> String {
    boot_with(dir, vars, image, until, memory_mb, &["-net", "none"])
}

/// [`boot`] with more QEMU arguments (disks, a network) in place of `-net none`.
pub fn boot_with(
    dir: &Path,
    vars: &Path,
    image: &Path,
    until: &[&str],
    memory_mb: u32,
    extra: &[&str],
) -> String {
    let esp = fresh(dir, "esp", "");
    std::fs::create_dir_all(esp.join("EFI/BOOT")).unwrap();
    std::fs::copy(image, esp.join("EFI/BOOT/BOOTX64.EFI")).unwrap();
    let serial = fresh(dir, "serial", ".log");
    let mut qemu = Command::new("qemu-system-x86_64")
        .args(["-machine", "q35,smm=on", "-accel", "tcg", "-m"])
        .arg(memory_mb.to_string())
        .args(["-no-reboot", "-display", "none"])
        .args(extra)
        .args(["-global", "driver=cfi.pflash01,property=secure,value=on"])
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
    let deadline = Instant::now() + Duration::from_secs(240);
    let text = loop {
        std::thread::sleep(Duration::from_millis(250));
        // Whether it exited is asked first, so the text read after holds all it wrote.
        let exited = qemu.try_wait().ok().flatten().is_some();
        let text =
            String::from_utf8_lossy(&std::fs::read(&serial).unwrap_or_default()).into_owned();
        if exited || until.iter().any(|u| text.contains(u)) || Instant::now() > deadline {
            break text;
        }
    };
    let _ = qemu.kill();
    let _ = qemu.wait();
    text
}

/// Boots a HelloWorld-like image until the firmware has started or refused it.
pub fn hello_boot(dir: &Path, vars: &Path, image: &Path) -> String {
    boot(dir, vars, image, &[STARTED, "Access Denied"], 256)
}

/// The firmware started the image (HelloWorld's text is on the console).
pub fn started(log: &str) -> bool {
    log.contains("BdsDxe: starting Boot0002") && log.contains(STARTED)
}

/// The firmware refused the image.
pub fn denied(log: &str) -> bool {
    log.contains("BdsDxe: failed to load Boot0002")
        && log.contains("Access Denied")
        && !log.contains(STARTED)
}
