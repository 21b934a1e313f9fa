//! Hosts end to end on the real binaries: `cairn admin host add` enrols a host and writes its
//! token, `cairn-agent boot` scans, signs, submits and proves the scan, `cairn admin baseline
//! set` fixes what later scans are compared with, `cairn scan report` lists what the
//! registry found, and a scan spooled while the registry was down is submitted by `flush`.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Output;

use crate::util::{Served, agent, cairn, ok, pub_key, serve_args};

const ADMIN: &str = "admin-token";

pub(crate) fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn serve(data: &Path) -> Served {
    let key = pub_key();
    let args = serve_args(data, ADMIN, &key);
    Served::start(
        cairn(),
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    )
}

/// `agent.toml` for `registry`, with the host's key and token beside it.
pub(crate) fn write_config(cfg: &Path, registry: &str, log_key: &str) {
    std::fs::write(
        cfg.join("agent.toml"),
        format!(
            "registry = \"{registry}\"\nhost = \"web1\"\nkey = \"host.pem\"\ntoken = \"host.token\"\nlog_key = \"{log_key}\"\n"
        ),
    )
    .unwrap();
}

pub(crate) fn boot(cfg: &Path, root: &Path, spool: &Path, enforce: bool) -> Output {
    let mut cmd = agent();
    cmd.args(["boot", "--deadline", "20", "--config"])
        .arg(cfg.join("agent.toml"))
        .arg("--root")
        .arg(root)
        .arg("--spool")
        .arg(spool);
    if enforce {
        cmd.arg("--enforce");
    }
    cmd.output().unwrap()
}

fn spooled(spool: &Path) -> usize {
    crate::util::file_names(spool)
        .iter()
        .filter(|n| n.ends_with(".scan"))
        .count()
}

#[test]
fn a_host_enrolled_by_the_cli_boots_scans_and_reads_its_reports() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (data, cfg, root, spool) = (
        d.join("data"),
        d.join("cfg"),
        d.join("root"),
        d.join("spool"),
    );
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    std::fs::write(root.join("usr/bin/tool"), b"\x7fELF v1").unwrap();
    let served = serve(&data);
    let url = served.url.clone();

    ok(cairn().args(["keygen", "--out"]).arg(cfg.join("host.pem")));
    let added = ok(cairn()
        .args(["admin", "host", "add", "web1", "--key"])
        .arg(cfg.join("host.pem.pub"))
        .arg("--token-out")
        .arg(cfg.join("host.token"))
        .args(["--registry", &url, "--token", ADMIN]));
    assert!(
        text(&added).contains("host web1 enrolled"),
        "{}",
        text(&added)
    );
    let mode = std::fs::metadata(cfg.join("host.token"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let log_key =
        String::from_utf8(ok(cairn().args(["log", "key", "--data"]).arg(&data)).stdout).unwrap();
    write_config(&cfg, &url, log_key.trim());

    // First boot: submitted and proven; no baseline yet.
    let first = boot(&cfg, &root, &spool, true);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    assert!(
        text(&first).contains("proven in the log"),
        "{}",
        text(&first)
    );
    assert_eq!(spooled(&spool), 0);
    let report = ok(cairn().args(["scan", "report", "web1", "--json", "--registry", &url]));
    let answer: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    let digest = answer["scan"]["digest"].as_str().unwrap().to_owned();
    assert_eq!(answer["scan"]["host"], "web1");

    ok(cairn()
        .args(["admin", "baseline", "set", "web1", "--scan", &digest])
        .args(["--registry", &url, "--token", ADMIN]));
    let listed = ok(cairn().args(["admin", "host", "list", "--registry", &url]));
    assert!(text(&listed).contains(&digest[..16]), "{}", text(&listed));

    // Planted: a setuid binary and a changed system binary. Enforcing, the boot is refused.
    std::fs::create_dir_all(root.join("opt")).unwrap();
    std::fs::write(root.join("opt/backdoor"), b"#!/bin/sh\n").unwrap();
    std::fs::set_permissions(
        root.join("opt/backdoor"),
        std::fs::Permissions::from_mode(0o4755),
    )
    .unwrap();
    std::fs::write(root.join("usr/bin/tool"), b"\x7fELF v2").unwrap();
    let second = boot(&cfg, &root, &spool, true);
    let said = text(&second);
    assert_eq!(second.status.code(), Some(1), "{said}");
    assert!(said.contains("2 ANOMALIES"), "{said}");
    let setuid = said.find("SETUID /opt/backdoor").expect(&said);
    let binary = said.find("SYSTEM_BINARY /usr/bin/tool").expect(&said);
    assert!(setuid < binary, "setuid first: {said}");
    let report = cairn()
        .args(["scan", "report", "web1", "--registry", &url])
        .output()
        .unwrap();
    let shown = text(&report);
    assert_eq!(report.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains("baseline: 2 ANOMALIES (1 setuid, 1 system_binary)"),
        "{shown}"
    );
    assert!(
        shown.contains("baseline: none set"),
        "the first scan's line: {shown}"
    );

    // The registry is down: the scan is spooled, and the boot goes on unless enforcing.
    drop(served);
    let down = boot(&cfg, &root, &spool, false);
    assert_eq!(down.status.code(), Some(0), "{}", text(&down));
    assert!(text(&down).contains("waits in"), "{}", text(&down));
    let refused = boot(&cfg, &root, &spool, true);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert_eq!(spooled(&spool), 2);

    // Back up (on another port): flush submits and proves both.
    let served = serve(&data);
    write_config(&cfg, &served.url, log_key.trim());
    let flushed = agent()
        .args(["flush", "--config"])
        .arg(cfg.join("agent.toml"))
        .arg("--spool")
        .arg(&spool)
        .output()
        .unwrap();
    assert_eq!(flushed.status.code(), Some(0), "{}", text(&flushed));
    assert_eq!(spooled(&spool), 0);
    let newest = cairn()
        .args([
            "scan",
            "report",
            "web1",
            "--json",
            "--registry",
            &served.url,
        ])
        .output()
        .unwrap();
    assert_eq!(
        newest.status.code(),
        Some(1),
        "anomalies: {}",
        text(&newest)
    );
    let list: serde_json::Value = serde_json::from_slice(&newest.stdout).unwrap();
    assert_eq!(list["report"]["baseline"]["against"], digest.as_str());

    // A bad configuration is an error (2), not a refusal.
    std::fs::write(cfg.join("agent.toml"), "nonsense").unwrap();
    let bad = boot(&cfg, &root, &spool, false);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
}
