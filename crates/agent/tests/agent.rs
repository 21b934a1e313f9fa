//! The `cairn-agent` binary on its own: a scan below a root as that system sees itself,
//! and a boot whose registry is down (spooled; refused only when enforcing).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::process::{Command, Output};

fn agent() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cairn-agent"))
}

fn said(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A small system below `dir/root`.
fn system(dir: &Path) -> std::path::PathBuf {
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    std::fs::create_dir_all(root.join("proc/1")).unwrap();
    std::fs::write(root.join("usr/bin/tool"), b"tool").unwrap();
    std::fs::write(root.join("proc/1/status"), b"not scanned").unwrap();
    root
}

#[test]
fn a_scan_below_a_root_records_that_systems_paths_and_the_host_given() {
    let dir = tempfile::tempdir().unwrap();
    let root = system(dir.path());
    let out = dir.path().join("s.scan");
    let run = agent()
        .args([
            "scan",
            "/",
            "--exclude",
            "/proc",
            "--host",
            "web1",
            "--root",
        ])
        .arg(&root)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", said(&run));
    let manifest =
        cairn_scan::Manifest::read(std::io::BufReader::new(std::fs::File::open(&out).unwrap()))
            .unwrap();
    assert_eq!(manifest.header.host, "web1");
    assert_eq!(manifest.header.roots, ["/"]);
    let paths: Vec<String> = manifest
        .records
        .iter()
        .map(|r| r.path_buf().display().to_string())
        .collect();
    assert_eq!(paths, ["/", "/usr", "/usr/bin", "/usr/bin/tool"]);
}

#[test]
fn with_the_registry_down_a_boot_spools_its_signed_scan_and_refuses_only_when_enforcing() {
    let dir = tempfile::tempdir().unwrap();
    let root = system(dir.path());
    let cfg = dir.path().join("cfg");
    std::fs::create_dir_all(&cfg).unwrap();
    let key = cairn_sign::PrivateKey::generate(cairn_sign::Algorithm::P256).unwrap();
    let pem = key.to_pem(None).unwrap();
    std::fs::write(cfg.join("host.pem"), &*pem.bytes()).unwrap();
    std::fs::write(cfg.join("host.token"), "cairn_host_x\n").unwrap();
    let log = cairn_tlog::NoteSigner::from_seed("example.org/log", &[3; 32]).unwrap();
    // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    std::fs::write(
        cfg.join("agent.toml"),
        format!(
            "registry = \"http://127.0.0.1:9\"\nhost = \"web1\"\nkey = \"host.pem\"\n\
             token = \"host.token\"\nlog_key = \"{}\"\n",
            log.verifier()
        ),
    )
    .unwrap();
    let spool = dir.path().join("spool");
    let boot = |enforce: bool| {
        let mut cmd = agent();
        cmd.args(["boot", "--deadline", "5", "--config"])
            .arg(cfg.join("agent.toml"))
            .arg("--root")
            .arg(&root)
            .arg("--spool")
            .arg(&spool);
        if enforce {
            cmd.arg("--enforce");
        }
        cmd.output().unwrap()
    };
    let run = boot(false);
    assert_eq!(run.status.code(), Some(0), "{}", said(&run));
    assert!(said(&run).contains("unreachable"), "{}", said(&run));
    let run = boot(true);
    assert_eq!(run.status.code(), Some(1), "{}", said(&run));

    // Both scans wait signed, each verifying under the host key.
    let mut scans: Vec<_> = std::fs::read_dir(&spool)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "scan"))
        .collect();
    scans.sort();
    assert_eq!(scans.len(), 2);
    let mut keys = cairn_sign::TrustedKeys::default();
    keys.add(key.public().clone());
    for scan in scans {
        let bytes = std::fs::read(&scan).unwrap();
        let digest = cairn_sign::sha256(&bytes);
        assert_eq!(
            scan.file_stem().unwrap().to_str().unwrap(),
            hex::encode(digest)
        );
        let sig = std::fs::read_to_string(scan.with_extension("sig")).unwrap();
        keys.check(sig.trim(), &digest).unwrap();
    }
}
