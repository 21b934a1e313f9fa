//! The log key file (openssl-compatible) and the sequencer under concurrent submitters.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use cairn_tlog::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use cairn_tlog::verify::open_checkpoint;
use cairn_tlog::{DirStore, LogHandle, LogWriter, keyfile, verify_log};

#[test]
fn log_keys_are_generated_0600_and_interoperate_with_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys/log.pem");
    let (signer, created) = keyfile::load_or_generate(&path, "test.example/log").unwrap();
    assert!(created);
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let (again, created) = keyfile::load_or_generate(&path, "test.example/log").unwrap();
    assert!(!created);
    assert_eq!(again.verifier(), signer.verifier());
    let out = Command::new("openssl")
        .args(["pkey", "-noout", "-text", "-in"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl cannot read our key: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ED25519"));
    let theirs = dir.path().join("openssl.pem");
    let st = Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(&theirs)
        .status()
        .unwrap();
    assert!(st.success());
    keyfile::load(&theirs, "x/log").unwrap();
    std::fs::write(
        dir.path().join("bad.pem"),
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    assert!(keyfile::load(&dir.path().join("bad.pem"), "x/log").is_err());
    assert!(keyfile::load(&dir.path().join("missing.pem"), "x/log").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_submitters_each_get_a_covering_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (signer, _) =
        keyfile::load_or_generate(&dir.path().join("log.pem"), "test.example/log").unwrap();
    let key = signer.verifier();
    let writer = LogWriter::open(DirStore::open(&dir.path().join("log")).unwrap(), signer).unwrap();
    let log = LogHandle::start(writer, 256).unwrap();
    let mut tasks = Vec::new();
    for i in 0..64 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for j in 0..20 {
                let entry = format!("submitter {i} entry {j}").into_bytes();
                let appended = log.append(entry.clone()).await.unwrap();
                out.push((entry, appended));
            }
            out
        }));
    }
    let mut seen = std::collections::HashSet::new();
    for t in tasks {
        for (entry, appended) in t.await.unwrap() {
            assert!(
                seen.insert(appended.index),
                "index {} given twice",
                appended.index
            );
            let cp = open_checkpoint(appended.checkpoint.as_bytes(), &key).unwrap();
            assert!(
                appended.index < cp.size,
                "checkpoint does not cover the entry"
            );
            let proof = log.inclusion_proof(appended.index, cp.size).unwrap();
            verify_inclusion(
                appended.index,
                cp.size,
                &leaf_hash(&entry),
                &proof,
                &cp.root,
            )
            .unwrap();
            assert_eq!(log.entry(appended.index).unwrap().unwrap(), entry);
        }
    }
    assert_eq!(log.size(), 1280);
    let final_cp = open_checkpoint(log.checkpoint().as_bytes(), &key).unwrap();
    let proof = log.consistency_proof(100, 1280).unwrap();
    let old_root = cairn_tlog::merkle::range_root(&writer_tree(&log), 0, 100).unwrap();
    verify_consistency(100, 1280, &old_root, &final_cp.root, &proof).unwrap();
    assert!(
        log.inclusion_proof(0, 1281).is_err(),
        "no proofs past the published size"
    );
    assert!(log.entry(1280).unwrap().is_none());
    verify_log(
        &DirStore::open(&dir.path().join("log")).unwrap(),
        &key,
        None,
    )
    .unwrap();
}

/// The in-memory tree behind a handle, rebuilt from the published tiles (what a reader has).
fn writer_tree(log: &LogHandle) -> cairn_tlog::MemoryTree {
    let mut t = cairn_tlog::MemoryTree::default();
    for i in 0..log.size() {
        t.push(leaf_hash(&log.entry(i).unwrap().unwrap()));
    }
    t
}
