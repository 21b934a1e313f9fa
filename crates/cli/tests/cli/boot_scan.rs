//! The boot-time scan, end to end: Debian's cloud kernel with an initramfs built by real
//! `dracut` holding the repository's `dracut/90cairn-scan` module and `cairn-agent`, in a
//! Cairn-signed unified kernel image booted under OVMF with Secure Boot on (QEMU, TCG). It
//! mounts a virtio ext4 root (`mke2fs -d`), scans it before switch-root and submits the
//! scan through QEMU's user network to a `cairn serve` on this machine's loopback. Then a
//! planted setuid binary and a changed `/usr/bin` file are reported, an enforcing boot is
//! refused, and with the registry stopped the boot completes with the scan spooled.
//!
//! `./scripts/test` installs dracut, dracut-network, e2fsprogs and busybox-static, and
//! unpacks the kernel package with indexed modules into `target/test-kernel/root`.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{Served, agent_exe, cairn, ok, pub_key, serve_args};
use crate::vm::{CODE, VARS, boot_with, enroll, kernel_dir, need, sign};

const ADMIN: &str = "admin-token";
/// What the booted root's init prints last, before powering off.
const DONE: &str = "CAIRN-ROOT-DONE";
const BOOTED: &str = "CAIRN-ROOT-BOOTED";

/// The booted system: says it booted, lists the spool dracut moved into its /run, stops.
const INIT: &str = "#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
echo CAIRN-ROOT-BOOTED
echo spool: $(/bin/busybox ls /run/cairn-scan)
echo CAIRN-ROOT-DONE
/bin/busybox poweroff -f
";

/// A small root filesystem tree: busybox as init, a system binary, the dirs dracut needs.
fn root_tree(dir: &Path) -> PathBuf {
    let root = dir.join("rootfs");
    for d in [
        "bin",
        "sbin",
        "proc",
        "sys",
        "dev",
        "run",
        "tmp",
        "etc",
        "usr/bin",
        "usr/local/bin",
    ] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
    std::fs::write(root.join("sbin/init"), INIT).unwrap();
    std::fs::set_permissions(
        root.join("sbin/init"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(root.join("etc/os-release"), "ID=cairn-test\n").unwrap();
    std::fs::write(root.join("usr/bin/tool"), b"\x7fELF the tool, v1").unwrap();
    root
}

/// An ext4 image of `tree`.
fn disk(tree: &Path, out: &Path) {
    let _ = std::fs::remove_file(out);
    ok(Command::new("mke2fs")
        .args(["-q", "-F", "-t", "ext4", "-d"])
        .arg(tree)
        .arg(out)
        .arg("64M"));
}

/// dracut's module directory with the repository's module beside Debian's, so nothing is
/// installed into the build host (dracut reads `dracutbasedir`).
fn dracut_base(dir: &Path) -> PathBuf {
    let base = dir.join("dracut-base");
    std::fs::create_dir_all(base.join("modules.d")).unwrap();
    for entry in std::fs::read_dir("/usr/lib/dracut").unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap() != "modules.d" {
            std::os::unix::fs::symlink(&path, base.join(path.file_name().unwrap())).unwrap();
        }
    }
    for entry in std::fs::read_dir("/usr/lib/dracut/modules.d").unwrap() {
        let path = entry.unwrap().path();
        // An installed copy of the module (make install) gives way to the repository's.
        if path.file_name().unwrap() == "90cairn-scan" {
            continue;
        }
        std::os::unix::fs::symlink(
            &path,
            base.join("modules.d").join(path.file_name().unwrap()),
        )
        .unwrap();
    }
    let module = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dracut/90cairn-scan");
    std::os::unix::fs::symlink(module, base.join("modules.d/90cairn-scan")).unwrap();
    base
}

/// An initramfs from real dracut: shell init, legacy network, the cairn-scan module with a
/// stripped agent and the configuration in `cfg`.
fn initramfs(dir: &Path, cfg: &Path) -> PathBuf {
    let modules = kernel_dir().join("root/lib/modules");
    let kver = std::fs::read_dir(&modules)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name();
    let agent = dir.join("cairn-agent");
    ok(Command::new("objcopy")
        .arg("--strip-all")
        .arg(agent_exe())
        .arg(&agent));
    let confdir = dir.join("dracut.conf.d");
    std::fs::create_dir_all(&confdir).unwrap();
    let snippet =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dracut/dracut.conf.d/90-cairn-scan.conf");
    std::fs::copy(snippet, confdir.join("90-cairn-scan.conf")).unwrap();
    std::fs::write(
        confdir.join("91-test.conf"),
        format!(
            "cairn_agent=\"{}\"\ncairn_config_dir=\"{}\"\n",
            agent.display(),
            cfg.display()
        ),
    )
    .unwrap();
    std::fs::write(dir.join("dracut.conf"), "").unwrap();
    let tmp = dir.join("dracut-tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let out = dir.join("initrd.img");
    ok(Command::new("dracut")
        .env("dracutbasedir", dracut_base(dir))
        .args([
            "--force",
            "--quiet",
            "--no-hostonly",
            "--no-early-microcode",
            "--no-compress",
        ])
        .arg("--kver")
        .arg(&kver)
        .arg("--kmoddir")
        .arg(modules.join(&kver))
        .arg("--conf")
        .arg(dir.join("dracut.conf"))
        .arg("--confdir")
        .arg(&confdir)
        .arg("--tmpdir")
        .arg(&tmp)
        .args([
            "--modules",
            "bash base kernel-modules rootfs-block udev-rules network network-legacy cairn-scan",
            "--drivers",
            "virtio_pci virtio_blk virtio_net",
        ])
        .arg(&out));
    out
}

/// A signed unified kernel image of the kernel and `initrd` with `cmdline`.
fn uki(dir: &Path, keys: &Path, initrd: &Path, cmdline: &str, name: &str) -> PathBuf {
    let image = dir.join(format!("{name}.efi"));
    ok(cairn()
        .args(["efi", "uki", "--kernel"])
        .arg(kernel_dir().join("vmlinuz"))
        .arg("--initrd")
        .arg(initrd)
        .args(["--cmdline", cmdline])
        .arg("--out")
        .arg(&image));
    let signed = dir.join(format!("{name}.signed.efi"));
    sign(&image, keys, &signed);
    signed
}

/// Boots `image` with the disk `root` and user networking (10.0.2.2 is this machine).
fn boot(dir: &Path, vars: &Path, image: &Path, root: &Path) -> String {
    let drive = format!("file={},format=raw,if=virtio,snapshot=on", root.display());
    boot_with(
        dir,
        vars,
        image,
        &[DONE, "Kernel panic"],
        1024,
        &[
            "-drive",
            &drive,
            "-netdev",
            "user,id=n0",
            "-device",
            "virtio-net-pci,netdev=n0",
        ],
    )
}

fn json(cmd: &mut Command) -> serde_json::Value {
    let out = cmd.output().unwrap();
    assert_ne!(
        out.status.code(),
        Some(2),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_dracut_initramfs_scans_the_root_before_switch_root_and_the_registry_reports_plants() {
    for path in [CODE, VARS, "/bin/busybox", "/usr/lib/dracut/modules.d"] {
        need(path);
    }
    assert!(
        kernel_dir().join("root/lib/modules").is_dir(),
        "{} is missing: ./scripts/test unpacks Debian's cloud kernel there",
        kernel_dir().display()
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (data, cfg) = (d.join("data"), d.join("cfg"));
    std::fs::create_dir_all(&cfg).unwrap();

    // The registry, the host enrolled with its own key and token, and the agent's settings:
    // key, token and log key in the file; registry and host from the kernel command line.
    let key = pub_key();
    let args = serve_args(&data, ADMIN, &key);
    let served = Served::start(
        cairn(),
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let url = served.url.clone();
    let port = url.rsplit(':').next().unwrap().to_owned();
    ok(cairn().args(["keygen", "--out"]).arg(cfg.join("host.pem")));
    ok(cairn()
        .args(["admin", "host", "add", "vm1", "--key"])
        .arg(cfg.join("host.pem.pub"))
        .arg("--token-out")
        .arg(cfg.join("host.token"))
        .args(["--registry", &url, "--token", ADMIN]));
    let log_key =
        String::from_utf8(ok(cairn().args(["log", "key", "--data"]).arg(&data)).stdout).unwrap();
    std::fs::write(
        cfg.join("agent.toml"),
        format!(
            "key = \"host.pem\"\ntoken = \"host.token\"\nlog_key = \"{}\"\n",
            log_key.trim()
        ),
    )
    .unwrap();

    let initrd = initramfs(d, &cfg);
    let keys = d.join("keys");
    ok(cairn()
        .args(["efi", "keygen", "--name", "Fleet", "--out"])
        .arg(&keys));
    let common = format!(
        "console=ttyS0 root=/dev/vda rootfstype=ext4 ro rd.skipfsck ip=dhcp rd.neednet=1 \
         rd.shell=0 panic=-1 loglevel=4 cairn.registry=http://10.0.2.2:{port} cairn.host=vm1 \
         cairn.deadline=60"
    );
    let normal = uki(d, &keys, &initrd, &common, "normal");
    let enforcing = uki(
        d,
        &keys,
        &initrd,
        &format!("{common} cairn.enforce=1"),
        "enforcing",
    );
    let vars = enroll(d, &keys, None, None);

    // First boot: the scan is stored, signed by the host key, proven in the log.
    let tree = root_tree(d);
    let root = d.join("root.img");
    disk(&tree, &root);
    let log = boot(d, &vars, &normal, &root);
    assert!(
        log.contains("EFI stub: UEFI Secure Boot is enabled."),
        "not booted under Secure Boot:\n{log}"
    );
    assert!(
        log.contains("proven in the log") && log.contains(DONE),
        "{log}"
    );
    let first = json(cairn().args(["scan", "report", "vm1", "--json", "--registry", &url]));
    let digest = first["scan"]["digest"].as_str().unwrap().to_owned();
    assert_eq!(first["scan"]["roots"], serde_json::json!(["/"]));
    // From the outside: the registry's copy verifies under the host key and is in the log.
    let local = d.join("local.scan");
    let _ = cairn()
        .args(["scan", "/", "--root"])
        .arg(&tree)
        .arg("--out")
        .arg(&local)
        .output()
        .unwrap();
    let proven = cairn()
        .args([
            "scan",
            "diff",
            "--baseline",
            &format!("{url}/scans/{digest}"),
            "--key",
        ])
        .arg(cfg.join("host.pem.pub"))
        .args(["--log-key", log_key.trim()])
        .arg(&local)
        .env("XDG_STATE_HOME", d.join("state"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&proven.stderr);
    assert_ne!(proven.status.code(), Some(2), "{said}");
    assert!(said.contains("verified"), "{said}");
    ok(cairn()
        .args(["admin", "baseline", "set", "vm1", "--scan", &digest])
        .args(["--registry", &url, "--token", ADMIN]));

    // Planted: a setuid binary and a changed system binary. The report flags exactly those.
    let planted = tree.join("usr/local/bin/helper");
    std::fs::write(&planted, b"#!/bin/sh\nexec /bin/sh\n").unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o4755)).unwrap();
    std::fs::write(tree.join("usr/bin/tool"), b"\x7fELF the tool, trojaned").unwrap();
    disk(&tree, &root);
    let log = boot(d, &vars, &normal, &root);
    assert!(log.contains("2 ANOMALIES") && log.contains(DONE), "{log}");
    let second = json(cairn().args(["scan", "report", "vm1", "--json", "--registry", &url]));
    let baseline = &second["report"]["baseline"];
    assert_eq!(baseline["against"], digest.as_str(), "{second}");
    let found: Vec<(&str, Vec<&str>)> = baseline["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let kinds = f["anomalies"]
                .as_array()
                .map_or(vec![], |a| a.iter().map(|k| k.as_str().unwrap()).collect());
            (f["path"].as_str().unwrap(), kinds)
        })
        .collect();
    assert_eq!(
        found,
        [
            ("/usr/local/bin/helper", vec!["setuid"]),
            ("/usr/bin/tool", vec!["system_binary"])
        ],
        "exactly the plants, setuid first: {second}"
    );
    let metrics = ok(Command::new("curl").args(["-sf", &format!("{url}/metrics")])).stdout;
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(
        metrics.contains(r#"cairn_scan_anomalies{host="vm1",kind="setuid"} 1"#),
        "{metrics}"
    );

    // Enforcing, the same system does not boot.
    let log = boot(d, &vars, &enforcing, &root);
    assert!(log.contains("cairn: boot refused"), "{log}");
    assert!(!log.contains(BOOTED), "an enforcing boot went on:\n{log}");

    // The registry stopped: the boot completes, the signed scan spooled in the booted /run.
    drop(served);
    let log = boot(d, &vars, &normal, &root);
    assert!(log.contains("unreachable") && log.contains(BOOTED), "{log}");
    let spool = log
        .lines()
        .find_map(|l| l.trim().strip_prefix("spool: "))
        .unwrap_or_default();
    assert!(
        spool
            .split_whitespace()
            .any(|f| f.len() == 69 && f.ends_with(".scan"))
            && spool.contains(".sig"),
        "no spooled scan in the booted system: {spool:?}\n{log}"
    );
}

#[test]
fn make_install_puts_the_module_where_dracut_reads_modules() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dracut");
    ok(Command::new("make")
        .arg("-C")
        .arg(&repo)
        .arg("install")
        .arg(format!("DESTDIR={}", dir.path().display())));
    for (file, mode) in [
        (
            "usr/lib/dracut/modules.d/90cairn-scan/module-setup.sh",
            0o755,
        ),
        ("usr/lib/dracut/modules.d/90cairn-scan/cairn-scan.sh", 0o755),
        ("etc/dracut.conf.d/90-cairn-scan.conf", 0o644),
        ("usr/lib/systemd/system/cairn-scan-flush.service", 0o644),
    ] {
        let meta = std::fs::metadata(dir.path().join(file)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, mode, "{file}");
    }
    ok(Command::new("make")
        .arg("-C")
        .arg(&repo)
        .arg("uninstall")
        .arg(format!("DESTDIR={}", dir.path().display())));
    assert!(
        !dir.path()
            .join("usr/lib/dracut/modules.d/90cairn-scan")
            .exists()
    );
}
