//! The registry the browser test looks at: the plugin fixtures, a hostile plugin, a
//! deleted plugin, an in-toto attestation and two scans of a host by the real agent.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use cairn_testkit::fixtures::{patched_plugin, plugin};
use serde_json::Value;

use crate::hosts::{boot, text, write_config};
use crate::util::{Served, cairn, ok, pub_key, serve_args, sha256_hex, upload};

pub(super) const TOKEN: &str = "ui-test-token";

/// The synthc fixtures.
pub(super) const SYNTHC: [&str; 7] = [
    "libmemflow_synthc.x86_64.so",
    "libmemflow_synthc.x86.so",
    "libmemflow_synthc.aarch64.so",
    "libmemflow_synthc_abi2.x86_64.so",
    "libmemflow_synthc.aarch64.dylib",
    "memflow_synthc.x86_64.dll",
    "libmemflow_synthc.universal.dylib",
];

/// What the test put in the registry.
pub(super) struct World {
    pub(super) served: Served,
    pub(super) data: PathBuf,
    pub(super) hostile: String,
    pub(super) gone: String,
    pub(super) attestation: String,
    pub(super) scans: [String; 2],
    _dir: tempfile::TempDir,
}

pub(super) fn in_toto(name: &str) -> PathBuf {
    crate::util::fixtures().join("../in-toto").join(name)
}

/// Fills a fresh registry, over its HTTP API and with the real agent.
pub(super) async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = pub_key();
    let mut args = serve_args(&data, TOKEN, &key);
    args.extend([
        "--public-key".into(),
        in_toto("signer.pub.pem").display().to_string(),
    ]);
    let served = Served::start(
        cairn(),
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let url = served.url.clone();
    let http = reqwest::Client::new();
    for f in SYNTHC.iter().chain(&["libmemflow_synthmulti.x86_64.so"]) {
        let (status, body) = upload(&http, &url, TOKEN, plugin(f)).await.unwrap();
        assert_eq!(status, 200, "{f}: {body}");
    }
    let hostile = patched_plugin(b"<i>x</", "<script>document.title='pwned'</script>");
    let gone = patched_plugin(b"gone01", "a plugin that was withdrawn");
    let (hostile_d, gone_d) = (sha256_hex(&hostile), sha256_hex(&gone));
    for bytes in [hostile, gone] {
        assert_eq!(upload(&http, &url, TOKEN, bytes).await.unwrap().0, 200);
    }
    let r = http
        .delete(format!("{url}/files/{gone_d}"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let link = std::fs::read(in_toto("package.1c656f99.link")).unwrap();
    let r = http
        .post(format!("{url}/log/entries"))
        .bearer_auth(TOKEN)
        .body(link.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let scans = scans(dir.path(), &data, &url);
    World {
        served,
        data,
        hostile: hostile_d,
        gone: gone_d,
        attestation: sha256_hex(&link),
        scans,
        _dir: dir,
    }
}

/// Host `web1` enrolled by the CLI and booted twice by the agent: a baseline scan, then
/// one with a setuid file planted. The two scans' digests, oldest first.
pub(super) fn scans(dir: &Path, data: &Path, url: &str) -> [String; 2] {
    let (cfg, root, spool) = (dir.join("cfg"), dir.join("root"), dir.join("spool"));
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    std::fs::write(root.join("usr/bin/tool"), b"\x7fELF v1").unwrap();
    ok(cairn().args(["keygen", "--out"]).arg(cfg.join("host.pem")));
    ok(cairn()
        .args(["admin", "host", "add", "web1", "--key"])
        .arg(cfg.join("host.pem.pub"))
        .arg("--token-out")
        .arg(cfg.join("host.token"))
        .args(["--registry", url, "--token", TOKEN]));
    let log_key =
        String::from_utf8(ok(cairn().args(["log", "key", "--data"]).arg(data)).stdout).unwrap();
    write_config(&cfg, url, log_key.trim());
    let first = boot(&cfg, &root, &spool, false);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let listed = |n| {
        // It exits 1 when the scan has anomalies: the second one has.
        let out = cairn()
            .args(["scan", "report", "web1", "--json", "--registry", url])
            .output()
            .unwrap();
        assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["scan"]["host"], "web1", "{n}");
        v["scan"]["digest"].as_str().unwrap().to_owned()
    };
    let baseline = listed(1);
    ok(cairn()
        .args(["admin", "baseline", "set", "web1", "--scan", &baseline])
        .args(["--registry", url, "--token", TOKEN]));
    std::fs::create_dir_all(root.join("opt")).unwrap();
    std::fs::write(root.join("opt/backdoor"), b"#!/bin/sh\n").unwrap();
    std::fs::set_permissions(
        root.join("opt/backdoor"),
        std::fs::Permissions::from_mode(0o4755),
    )
    .unwrap();
    let second = boot(&cfg, &root, &spool, false);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    [baseline, listed(2)]
}
