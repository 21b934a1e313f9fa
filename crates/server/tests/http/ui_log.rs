//! The web UI's log pages over HTTP (both engines): the checkpoint and the latest entries,
//! any entry with a proof the test checks itself, consistency between two sizes, an
//! attestation with its subjects and signers, and everything a key signed.

use cairn_tlog::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use cairn_tlog::verify::open_checkpoint;
use serde_json::Value;

use crate::attest::{in_toto, submit};
use crate::log::key_of;
use crate::ui::{by_id, page, patched, proof_hashes};
use crate::util::{TOKEN, TestApp, fixture};

fn b64(s: &str) -> cairn_tlog::Hash {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .unwrap()
        .try_into()
        .unwrap()
}

/// A registry with two plugins (one deleted since) and an in-toto link: five entries.
async fn filled() -> (TestApp, String, String) {
    let app = TestApp::start_with(|c| c.registry.public_keys.push(in_toto("signer.pub.pem"))).await;
    let kept = app
        .upload_ok(fixture("libmemflow_synthc.x86_64.so"), "Added")
        .await;
    let gone = app
        .upload_ok(patched(b"gone01", "a plugin that was withdrawn"), "Added")
        .await;
    assert_eq!(app.delete(&gone, Some(TOKEN)).await.status(), 200);
    let link = std::fs::read(in_toto("package.1c656f99.link")).unwrap();
    let (status, body) = submit(&app, link, Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    (app, kept, gone)
}

#[tokio::test]
async fn the_log_pages_show_and_prove_every_entry() {
    let (app, kept, gone) = filled().await;
    let key = key_of(&app);
    let log = page(&app, "/ui/log", 200).await;
    let served = app.get("/log/checkpoint").await.text().await.unwrap();
    assert_eq!(by_id(&log, "pre", "checkpoint"), served);
    let cp = open_checkpoint(served.as_bytes(), &key).unwrap();
    assert_eq!(by_id(&log, "dd", "tree-size"), cp.size.to_string());
    assert_eq!(cp.size, 4);
    // Newest first, each linking to its entry page; the deleted plugin is not named.
    let listed: Vec<u64> = log
        .match_indices("href=\"/ui/log/entries/")
        .map(|(i, m)| {
            let rest = &log[i + m.len()..];
            rest[..rest.find('"').unwrap()].parse().unwrap()
        })
        .collect();
    assert_eq!(listed, [3, 2, 1, 0]);
    assert!(log.contains(&format!("href=\"/ui/files/{kept}\"")));
    assert!(!log.contains("gone01") && !log.contains("withdrawn"));

    // Every entry's page proves it; the test checks each proof itself.
    for index in 0..cp.size {
        let body = page(&app, &format!("/ui/log/entries/{index}"), 200).await;
        assert!(body.contains("id=\"verdict\">verified"), "entry {index}");
        let shown = by_id(&body, "pre", "checkpoint");
        let shown_cp = open_checkpoint(shown.as_bytes(), &key).unwrap();
        let raw = app.get_json(&format!("/log/entries/{index}")).await;
        let canonical = cairn_tlog::entry::canonical(&raw["entry"]);
        verify_inclusion(
            index,
            shown_cp.size,
            &leaf_hash(&canonical),
            &proof_hashes(&body),
            &shown_cp.root,
        )
        .unwrap();
        if raw["entry"]["kind"] == "artifact" && raw["entry"]["digest"] == gone.as_str() {
            assert!(body.contains("deleted by <a href=\"/ui/log/entries/2\">entry 2</a>"));
            assert!(!body.contains("gone01") && !body.contains("withdrawn"));
        } else {
            let entry: Value = serde_json::from_str(&by_id(&body, "pre", "entry")).unwrap();
            assert_eq!(entry, raw["entry"], "entry {index}");
        }
        let r = app
            .get(&format!("/ui/log/entries/{index}/tlog-proof"))
            .await;
        assert_eq!(r.status(), 200);
        let proof = cairn_tlog::TlogProof::parse(&r.text().await.unwrap()).unwrap();
        assert_eq!(proof.index, index);
    }
    // The form's target leads to the entry; bad indexes are refused clearly.
    let r = app.get("/ui/log/entries?index=2").await;
    assert_eq!(r.url().path(), "/ui/log/entries/2");
    page(&app, "/ui/log/entries/4", 404).await;
    page(&app, "/ui/log/entries/x", 400).await;
    page(&app, "/ui/log/entries?index=-1", 400).await;

    // Consistency: the page's roots and proof verify, and its new root is the checkpoint's.
    let body = page(&app, "/ui/log/consistency?from=1&to=4", 200).await;
    assert!(body.contains("id=\"verdict\">verified"));
    let old_root = b64(&by_id(&body, "dd", "old-root"));
    let new_root = b64(&by_id(&body, "dd", "new-root"));
    assert_eq!(new_root, cp.root);
    verify_consistency(1, 4, &old_root, &new_root, &proof_hashes(&body)).unwrap();
    let cp1 = app.get_json("/log/entries/0").await;
    assert_eq!(
        old_root,
        leaf_hash(&cairn_tlog::entry::canonical(&cp1["entry"])),
        "a tree of one is its leaf"
    );
    page(&app, "/ui/log/consistency?from=3", 200).await;
    page(&app, "/ui/log/consistency?from=3&to=2", 400).await;
    page(&app, "/ui/log/consistency?from=1&to=5", 400).await;
    page(&app, "/ui/log/consistency?from=a", 400).await;
}

#[tokio::test]
async fn attestations_and_keys_show_what_was_signed() {
    let (app, kept, gone) = filled().await;
    let link = std::fs::read(in_toto("package.1c656f99.link")).unwrap();
    let digest = crate::util::sha256_hex(&link);
    let body = page(&app, &format!("/ui/attestations/{digest}"), 200).await;
    assert!(body.contains("id=\"verdict\">verified"));
    assert!(body.contains("in-toto-link"));
    let answer = app.get_json(&format!("/log/entries/{}", 3)).await;
    let subjects = answer["entry"]["subjects"].as_array().unwrap();
    assert!(!subjects.is_empty());
    for s in subjects {
        assert!(body.contains(&format!("href=\"/ui/files/{}\"", s.as_str().unwrap())));
    }
    let signer = answer["entry"]["signers"][0].as_str().unwrap();
    assert!(body.contains(&format!("href=\"/ui/keys/{signer}\"")));
    page(&app, &format!("/ui/attestations/{}", "0".repeat(64)), 404).await;
    page(&app, "/ui/attestations/zz", 400).await;

    // The plugin key signed both uploads; the page says which file was deleted since.
    let meta = app.get_json(&format!("/files/{kept}/metadata")).await;
    let key = meta["key_id"].as_str().unwrap();
    let body = page(&app, &format!("/ui/keys/{key}"), 200).await;
    assert!(body.contains(&format!("href=\"/ui/files/{kept}\"")));
    assert!(body.contains(&format!("href=\"/ui/files/{gone}\"")));
    assert!(body.contains("deleted by entry 2"));
    assert!(!body.contains("gone01"));
    let signed = page(&app, &format!("/ui/keys/{signer}"), 200).await;
    assert!(signed.contains(&format!("href=\"/ui/attestations/{digest}\"")));
    let r = app
        .get(&format!("/ui/keys?key=%20{}", key.to_uppercase()))
        .await;
    assert_eq!(r.url().path(), format!("/ui/keys/{key}"));
    let none = page(&app, &format!("/ui/keys/{}", "ab".repeat(32)), 200).await;
    assert!(none.contains("no entry signed by this key"));
    page(&app, "/ui/keys/not-a-key", 400).await;
}

#[tokio::test]
async fn a_file_page_links_the_attestations_about_it() {
    let (key, app) = crate::attest::dsse_app(21).await;
    let file = app
        .upload_ok(fixture("libmemflow_synthc.x86_64.so"), "Added")
        .await;
    let statement = serde_json::json!({"_type": "https://in-toto.io/Statement/v1", "subject": [{"name": "p.so", "digest": {"sha256": file}}], "predicateType": "x", "predicate": {}});
    let payload = serde_json::to_vec(&statement).unwrap();
    let envelope = crate::attest::dsse_envelope(&key, &payload, &payload);
    let (status, body) = submit(&app, envelope.clone(), Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    let doc = crate::util::sha256_hex(&envelope);
    let signer = answer["signers"][0].as_str().unwrap();
    let body = page(&app, &format!("/ui/files/{file}"), 200).await;
    assert!(body.contains(&format!("href=\"/ui/attestations/{doc}\"")));
    assert!(body.contains(&format!("href=\"/ui/keys/{signer}\"")));
    let shown = page(&app, &format!("/ui/attestations/{doc}"), 200).await;
    assert!(shown.contains(&format!("href=\"/ui/files/{file}\"")));
    assert!(shown.contains(">dsse<"));
}
