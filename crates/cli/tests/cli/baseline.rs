//! `cairn scan diff --baseline`: a baseline from a registry is used only once its signature
//! and its `scan` log entry are proven (the registry behind the lying proxy of `lies.rs`).

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::lies::{Lie, ORIGIN, TOKEN, setup};
use crate::pull::{client, s, stdout};
use crate::util::{cairn, ok};

#[test]
fn a_scan_baseline_is_used_only_once_proven() {
    let w = setup();
    let home = w.dir.path();
    let root = w.path("tree");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("f"), b"before").unwrap();
    let scan = w.path("base.jsonl");
    ok(cairn().arg("scan").arg(&root).arg("--out").arg(&scan));
    let pushed = ok(client(home)
        .args(["scan", "push", s(&scan), "--key", s(&w.path("alice.pem"))])
        .args(["--registry", &w.served.url, "--token", TOKEN]));
    let added: Value = serde_json::from_slice(&pushed.stdout).unwrap();
    let digest = added["digest"].as_str().unwrap().to_owned();
    let host = added["host"].as_str().unwrap().to_owned();
    std::fs::write(root.join("f"), b"after").unwrap();
    let now = w.path("now.jsonl");
    ok(cairn().arg("scan").arg(&root).arg("--out").arg(&now));

    let url = format!("{}/scans/{digest}", w.proxy_url);
    let diff = |trust: &[&str]| {
        client(home)
            .args(["scan", "diff", "--baseline", &url])
            .args(trust)
            .arg(&now)
            .output()
            .unwrap()
    };
    let alice = w.path("alice.pem.pub");
    let mallory = w.path("mallory.pem.pub");
    let by_keys = |key: &Path| diff(&["--key", s(key), "--log-key", &w.vkey]);
    let expect = |out: Output, code: i32, why: &str| {
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "{err}");
        assert!(err.contains(why), "expected {why:?} in: {err}");
    };

    // A good baseline: its diff (exit 1: the content changed).
    let out = by_keys(&alice);
    expect(out, 1, "verified");
    let out = by_keys(&alice);
    assert!(stdout(&out).contains("content"), "{}", stdout(&out));
    // Not without proof.
    expect(diff(&[]), 2, "--baseline is used only once proven");
    // Signed by a key the user does not trust.
    expect(
        by_keys(&mallory),
        2,
        "the baseline's signature does not verify: no given key made the signature",
    );
    // A policy: alice may sign scans (`scan:*`), or only packages.
    let scans_ok = w.policy("scans.toml", &["scan:*"], &[]);
    expect(diff(&["--trust", s(&scans_ok)]), 1, "verified");
    let packages_only = w.policy("packages.toml", &["synth*"], &[]);
    expect(
        diff(&["--trust", s(&packages_only)]),
        2,
        &format!("refused by the trust policy: scan:{host}"),
    );
    // Its log entry edited: the inclusion proof fails.
    w.lie(Lie::ScanEntry);
    expect(
        by_keys(&alice),
        2,
        "log check failed: inclusion proof: the entry the registry gives as index 0 is not in its checkpoint",
    );
    // Another log's key: the checkpoint does not verify.
    let other = cairn_tlog::NoteSigner::from_seed(ORIGIN, &[9; 32])
        .unwrap()
        .verifier()
        .to_string();
    w.lie(Lie::Honest);
    expect(
        diff(&["--key", s(&alice), "--log-key", &other]),
        2,
        "log check failed: checkpoint signature",
    );
}
