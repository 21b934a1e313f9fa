//! A registry that lies: a proxy (written here) in front of a real `cairn serve` rewrites its
//! answers, and `cairn pull` must refuse every lie, naming it, with nothing written to
//! `--out`; the same pulls through the honest proxy succeed.
//!
//! The lying proxy is in `lies/proxy.rs`; the registry, keys and pull helpers every test of
//! it uses (here and in `baseline.rs`) in `lies/setup.rs`.

mod proxy;
mod setup;

use base64::Engine as _;
use cairn_tlog::merkle::{self, MemoryTree};
use serde_json::{Value, json};

use crate::util::{fixture, plugin};
pub(crate) use proxy::Lie;
pub(crate) use setup::Setup;
pub(crate) use setup::{ORIGIN, TOKEN, setup};

/// A checkpoint over `tree`, signed with the registry's own log key (as a server whose log
/// forked would sign it), and the proof answer for `index` in it.
fn forged_proof(setup: &Setup, tree: &MemoryTree, index: u64, entry: &Value) -> Vec<u8> {
    let signer = cairn_tlog::keyfile::load(&setup.path("data/keys/log.pem"), ORIGIN).unwrap();
    let checkpoint = cairn_tlog::Checkpoint {
        origin: ORIGIN.into(),
        size: tree.size(),
        root: tree.root(),
        extensions: vec![],
    };
    let note = signer.sign(&checkpoint.to_text()).unwrap();
    let b64 = |h: &cairn_tlog::Hash| base64::engine::general_purpose::STANDARD.encode(h);
    let proof: Vec<String> = merkle::inclusion_proof(tree, index, tree.size())
        .unwrap()
        .iter()
        .map(b64)
        .collect();
    serde_json::to_vec(&json!({"index": index, "entry": entry, "proof": proof, "checkpoint": note}))
        .unwrap()
}

#[test]
fn every_lie_of_a_registry_is_refused_and_named() {
    let w = setup();
    let synthc = w.push("libsynthc.so", &plugin(30_000, 7));
    let multi = w.push("libmulti.so", &fixture("libmemflow_synthmulti.x86_64.so"));
    let synth_all = w.policy("all.toml", &["synth*"], &[]);
    let only_synthc = w.policy("only-synthc.toml", &["synthc"], &[]);
    let no_synthos = w.policy("no-synthos.toml", &["synthc", "synthmulti"], &[]);
    let deny_12 = w.policy(
        "deny12.toml",
        &["synth*"],
        &["--package", "synth*", "--versions", ">=1.2.0, <1.3.0"],
    );

    // Through the honest proxy: the pulls succeed, and the .meta is the verified metadata.
    let files = w.pulled("synthc", &only_synthc, "honest-synthc");
    assert_eq!(files, [format!("{synthc}.meta"), format!("{synthc}.so")]);
    let meta: Value = serde_json::from_slice(
        &std::fs::read(w.path("honest-synthc").join(format!("{synthc}.meta"))).unwrap(),
    )
    .unwrap();
    let served: Value =
        serde_json::from_slice(&w.get(&format!("/files/{synthc}/metadata"))).unwrap();
    assert_eq!(meta, served, "the .meta is what the honest registry says");
    w.pulled("synthmulti", &synth_all, "honest-multi");
    // A binary with two plugins is allowed only if both are.
    w.refused(
        "synthmulti",
        &no_synthos,
        "honest-no-synthos",
        &[
            "refused by the trust policy: synthos 0.9.0",
            "outside its package globs",
        ],
    );
    // An honest registry has no synthc 1.4.0, and the policy denies 1.2.3.
    w.refused(
        "synthc:1.4.0",
        &deny_12,
        "honest-140",
        &["no plugin synthc matches"],
    );
    w.refused(
        "synthc:1.2.3",
        &deny_12,
        "honest-123",
        &["is denied by the policy"],
    );

    // 1. A relabelled version: 1.2.3 (denied) served as 1.4.0.
    w.lie(Lie::Relabel);
    w.refused(
        "synthc:1.4.0",
        &deny_12,
        "relabel",
        &["the registry says synthc 1.4.0; the binary is synthc 1.2.3"],
    );

    // 2. Another plugin (alice's synthmulti) served under the asked name.
    w.lie(Lie::ServeAs);
    w.refused(
        "synthc",
        &only_synthc,
        "serve-as",
        &["the registry says synthc 0.9.0; the binary is 2 plugins: synthos 0.9.0, synthmulti 0.9.0"],
    );

    // 3. A relabelled descriptor in a two-plugin binary: synthos hidden in the metadata.
    w.lie(Lie::RenameInMetadata);
    w.refused(
        "synthmulti",
        &no_synthos,
        "rename",
        &[
            "the registry's metadata says descriptors is",
            "synthmulti-helper",
            "synthos 0.9.0",
        ],
    );

    // 4. A swapped signature: alice's signature of another binary.
    let multi_sig: Value =
        serde_json::from_slice(&w.get(&format!("/files/{multi}/metadata"))).unwrap();
    let multi_sig = multi_sig["signature"].as_str().unwrap().to_owned();
    w.lie(Lie::SwapSignature(multi_sig.clone()));
    w.refused(
        "synthc",
        &only_synthc,
        "swap",
        &[
            "log check failed: log entry 0 records signature",
            &multi_sig,
            "(a swapped signature)",
        ],
    );

    // 5. A log entry for another digest: the (valid) proof of synthmulti.
    w.lie(Lie::Proof(w.get(&format!("/files/{multi}/proof"))));
    w.refused(
        "synthc",
        &only_synthc,
        "other-entry",
        &[&format!(
            "log entry 1 records artifact {multi}, not the binary served ({synthc})"
        )],
    );

    // 6. A stale checkpoint: the proof of synthc at 2 entries, after the client saw 3.
    let old_proof = w.get(&format!("/files/{synthc}/proof"));
    w.lie(Lie::Honest);
    w.push("libsynthc2.so", &plugin(31_000, 8));
    w.pulled("synthc", &only_synthc, "honest-after-push");
    w.lie(Lie::Proof(old_proof));
    w.refused(
        "synthc",
        &only_synthc,
        "stale",
        &["stale checkpoint: the registry's checkpoint has 2 entries, but this client already saw 3"],
    );

    // 7. Forked checkpoints, signed by the log's own key: the client saw 3 entries.
    let entries: Vec<Value> = (0..3)
        .map(|i| {
            let e: Value = serde_json::from_slice(&w.get(&format!("/log/entries/{i}"))).unwrap();
            e["entry"].clone()
        })
        .collect();
    let fake = |n: u64| json!({"kind": "delete", "digest": format!("{n:064x}"), "deleted_ns": n});
    let tree_of = |entries: &[Value]| {
        let mut tree = MemoryTree::default();
        for e in entries {
            tree.push(merkle::leaf_hash(&cairn_tlog::entry::canonical(e)));
        }
        tree
    };
    // Same size, another history.
    let forked = [entries[0].clone(), entries[1].clone(), fake(1)];
    w.lie(Lie::Fork {
        proof: forged_proof(&w, &tree_of(&forked), 0, &entries[0]),
        consistency: Vec::new(),
    });
    w.refused(
        "synthc",
        &only_synthc,
        "fork-same-size",
        &["the log forked: two checkpoints of 3 entries with different roots"],
    );
    // A larger tree that does not extend what the client saw, with a consistency proof
    // computed in the forked tree.
    let forked = [entries[0].clone(), entries[1].clone(), fake(1), fake(2)];
    let tree = tree_of(&forked);
    let b64 = |h: &cairn_tlog::Hash| base64::engine::general_purpose::STANDARD.encode(h);
    let consistency: Vec<String> = merkle::consistency_proof(&tree, 3, 4)
        .unwrap()
        .iter()
        .map(b64)
        .collect();
    w.lie(Lie::Fork {
        proof: forged_proof(&w, &tree, 0, &entries[0]),
        consistency: serde_json::to_vec(&json!({ "proof": consistency })).unwrap(),
    });
    w.refused(
        "synthc",
        &only_synthc,
        "fork-larger",
        &["the log forked: the checkpoint of 4 entries does not extend the one of 3 entries this client saw"],
    );

    // Other bytes served whole under the digest.
    w.lie(Lie::TamperBytes);
    w.refused(
        "synthc",
        &only_synthc,
        "tampered",
        &["digest mismatch: the registry served bytes whose SHA-256 is"],
    );

    // 8. A metadata answer that disagrees with the bytes and the log.
    w.lie(Lie::MetadataTime);
    w.refused(
        "synthc",
        &only_synthc,
        "meta",
        &["the registry's metadata says created_at is \"2020-01-01T00:00:00\""],
    );

    // And the honest registry still serves every pull.
    w.lie(Lie::Honest);
    w.pulled("synthc", &only_synthc, "honest-again");
    w.pulled("synthmulti", &synth_all, "honest-multi-again");
}

/// A detached signature covers bytes only: a registry that serves the signed 1.0.0 as
/// 2.0.0 is caught by the log entry, which binds the version.
#[test]
fn a_package_served_under_another_version_is_refused() {
    let w = setup();
    for (version, tag) in [("1.0.0", 1), ("2.0.0", 2)] {
        let dir = w.path(version);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pkg.zip");
        std::fs::write(&file, plugin(5000, tag)).unwrap();
        crate::util::ok(
            crate::pull::client(&w.path("home"))
                .args([
                    "push",
                    crate::pull::s(&file),
                    "--name",
                    "pkg",
                    "--version",
                    version,
                ])
                .args([
                    "--key",
                    crate::pull::s(&w.path("alice.pem")),
                    "--format",
                    "hex",
                ])
                .args(["--registry", &w.served.url, "--token", TOKEN]),
        );
    }
    let policy = w.policy("pkg.toml", &["pkg"], &[]);
    assert_eq!(
        w.pulled("pkg:2.0.0", &policy, "honest-pkg"),
        ["pkg.zip", "pkg.zip.ecdsa", "pkg.zip.tlog-proof"]
    );
    w.lie(Lie::PackageVersion);
    w.refused(
        "pkg:2.0.0",
        &policy,
        "old-as-new",
        &["publishes pkg 1.0.0, not the pkg 2.0.0 asked for"],
    );
}

/// A search answer naming entries the query does not find, or a deletion the log does not
/// hold, is refused; the same search through the honest proxy is proven.
#[test]
fn a_search_answering_other_entries_or_false_deletions_is_refused() {
    let w = setup();
    let a = w.push("liba.so", &plugin(20_000, 31));
    let b = w.push("libb.so", &plugin(20_000, 32));
    let search = |digest: &str| {
        crate::pull::client(&w.path("home"))
            .args(["log", "search", "--digest", digest, "--log-key", &w.vkey])
            .args(["--registry", &w.proxy_url])
            .output()
            .unwrap()
    };
    let b_meta: Value = serde_json::from_slice(&w.get(&format!("/files/{b}/metadata"))).unwrap();
    let b_index = b_meta["log_index"].as_u64().unwrap();
    let honest = search(&a);
    assert!(
        honest.status.success(),
        "{}",
        String::from_utf8_lossy(&honest.stderr)
    );
    assert!(String::from_utf8_lossy(&honest.stdout).contains("no deletion logged"));
    for (lie, says) in [
        (
            Lie::SearchOther {
                asked: a.clone(),
                served: b.clone(),
            },
            "the registry answered an entry the query does not match",
        ),
        (
            Lie::SearchDeletion { by: 0 },
            "is named as the deletion of the later entry",
        ),
        (
            Lie::SearchDeletion { by: b_index },
            "the log shows no such deletion there",
        ),
        (Lie::SearchNextBack, "does not move forward"),
    ] {
        w.lie(lie);
        let out = search(&a);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
    }
}
