//! The transparency log over HTTP: every publication and deletion is an entry, proofs verify.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use cairn_tlog::merkle::{Hash, leaf_hash, verify_consistency, verify_inclusion};
use cairn_tlog::verify::open_checkpoint;
use cairn_tlog::{Checkpoint, NoteVerifier};

use crate::util::{TOKEN, TestApp, fixture, padded_plugin};

fn hashes(v: &serde_json::Value) -> Vec<Hash> {
    v["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| B64.decode(h.as_str().unwrap()).unwrap().try_into().unwrap())
        .collect()
}

async fn checkpoint(app: &TestApp, key: &NoteVerifier) -> (String, Checkpoint) {
    let r = app.get("/log/checkpoint").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
    let text = r.text().await.unwrap();
    let cp = open_checkpoint(text.as_bytes(), key).unwrap();
    (text, cp)
}

pub(crate) fn key_of(app: &TestApp) -> NoteVerifier {
    let signer = cairn_tlog::keyfile::load(
        &app.data_dir().join("keys/log.pem"),
        &cairn_tlog::keyfile::default_origin(),
    )
    .unwrap();
    signer.verifier()
}

#[tokio::test]
async fn uploads_and_deletes_are_logged_with_verifiable_proofs() {
    let app = TestApp::start().await;
    let key = key_of(&app);
    let (_, empty) = checkpoint(&app, &key).await;
    assert_eq!(empty.size, 0);

    let a = app
        .upload_ok(fixture("libmemflow_synthc.x86_64.so"), "Added")
        .await;
    let (first_text, first) = checkpoint(&app, &key).await;
    let b = app.upload_ok(padded_plugin(1), "Added").await;
    assert_eq!(app.delete(&a, Some(TOKEN)).await.status(), 200);
    let (_, now) = checkpoint(&app, &key).await;
    assert_eq!(now.size, 3);

    // Metadata names the entry; the entry commits to the digest, signature and descriptors.
    let meta = app.get_json(&format!("/files/{b}/metadata")).await;
    let index = meta["log_index"].as_u64().unwrap();
    assert_eq!(index, 1);
    let entry = app.get_json(&format!("/log/entries/{index}")).await;
    assert_eq!(entry["entry"]["kind"], "artifact");
    assert_eq!(entry["entry"]["digest"], b.as_str());
    assert_eq!(entry["entry"]["signature"], meta["signature"]);
    assert_eq!(entry["entry"]["descriptors"][0]["name"], "synthc");
    let deletion = app.get_json("/log/entries/2").await;
    assert_eq!(
        (
            deletion["entry"]["kind"].as_str(),
            deletion["entry"]["digest"].as_str()
        ),
        (Some("delete"), Some(a.as_str()))
    );
    assert_eq!(app.get("/log/entries/3").await.status(), 404);

    // The artifact's proof verifies against the checkpoint it carries.
    let proof = app.get_json(&format!("/files/{b}/proof")).await;
    let cp = open_checkpoint(proof["checkpoint"].as_str().unwrap().as_bytes(), &key).unwrap();
    let bytes = cairn_tlog::entry::canonical(&proof["entry"]);
    verify_inclusion(
        index,
        cp.size,
        &leaf_hash(&bytes),
        &hashes(&proof),
        &cp.root,
    )
    .unwrap();
    let text = app
        .client
        .get(app.url(&format!("/files/{b}/proof")))
        .header("accept", "text/plain")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra "), "{text}");
    assert!(text.ends_with(&now_text(&app).await));
    // The extra line carries the entry itself, whose leaf the proof includes.
    let parsed = cairn_tlog::TlogProof::parse(&text).unwrap();
    assert_eq!(parsed.index, 1);
    let extra = parsed.extra.unwrap();
    let entry: serde_json::Value = serde_json::from_slice(&extra).unwrap();
    assert_eq!(
        (entry["kind"].as_str(), entry["digest"].as_str()),
        (Some("artifact"), Some(b.as_str()))
    );
    verify_inclusion(1, now.size, &leaf_hash(&extra), &parsed.proof, &now.root).unwrap();

    // Inclusion and consistency helpers.
    let inc = app
        .get_json(&format!("/log/proof/inclusion?index=0&size={}", now.size))
        .await;
    let first_entry = app.get_json("/log/entries/0").await;
    let leaf = leaf_hash(&cairn_tlog::entry::canonical(&first_entry["entry"]));
    verify_inclusion(0, now.size, &leaf, &hashes(&inc), &now.root).unwrap();
    let con = app
        .get_json(&format!(
            "/log/proof/consistency?from={}&to={}",
            first.size, now.size
        ))
        .await;
    verify_consistency(first.size, now.size, &first.root, &now.root, &hashes(&con)).unwrap();
    assert_eq!(
        app.get("/log/proof/inclusion?index=0&size=99")
            .await
            .status(),
        400
    );
    assert_eq!(
        app.get("/log/proof/consistency?from=3&to=1").await.status(),
        400
    );
    assert_eq!(app.get("/log/proof/inclusion?index=x").await.status(), 400);

    // Tiles: published ones are served immutable, others are not.
    let r = app.get("/log/tile/0/000.p/3").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(r.bytes().await.unwrap().len(), 96);
    assert_eq!(app.get("/log/tile/entries/000.p/3").await.status(), 200);
    assert_eq!(app.get("/log/tile/0/000.p/4").await.status(), 404);
    assert_eq!(app.get("/log/tile/0/000").await.status(), 404);
    assert_eq!(app.get("/log/tile/0/..%2F..%2Fkeys").await.status(), 400);
    assert_eq!(
        app.get("/log/tile/0/../../keys/log.pem").await.status(),
        404
    );

    // The whole log verifies with the auditor, and the earlier checkpoint is a prefix.
    app.verify_stored_log(&key, Some(first_text.clone())).await;
}

async fn now_text(app: &TestApp) -> String {
    app.get("/log/checkpoint").await.text().await.unwrap()
}

/// The index is derived: rebuilt from the log alone it serves the same answers.
#[tokio::test]
async fn the_index_rebuilds_from_the_log() {
    let mut app = TestApp::start().await;
    let kept = app
        .upload_ok(fixture("libmemflow_synthmulti.x86_64.so"), "Added")
        .await;
    let gone = app
        .upload_ok(fixture("libmemflow_synthc.x86_64.so"), "Added")
        .await;
    app.upload_ok(padded_plugin(2), "Added").await;
    assert_eq!(app.delete(&gone, Some(TOKEN)).await.status(), 200);
    // Published, deleted, published again: replaying the delete must not take the new blob.
    let back = app.upload_ok(padded_plugin(3), "Added").await;
    assert_eq!(app.delete(&back, Some(TOKEN)).await.status(), 200);
    app.upload_ok(padded_plugin(3), "Added").await;
    let listing = app.get_json("/plugins").await;
    let synthc = app.get_json("/plugins/synthc?limit=50").await;
    let meta = app.get_json(&format!("/files/{kept}/metadata")).await;
    app.stop().await;
    // An embedded index rebuilt from the stored log (the data directory's, or the bucket's).
    let rebuilt = cairn_registry::Registry::reindex(app.registry_config())
        .await
        .unwrap();
    assert_eq!(rebuilt.log().size(), 7);
    drop(rebuilt);
    app.launch().await;
    assert_eq!(app.get_json("/plugins").await, listing);
    assert_eq!(app.get_json("/plugins/synthc?limit=50").await, synthc);
    assert_eq!(app.get_json(&format!("/files/{kept}/metadata")).await, meta);
    assert_eq!(
        app.get(&format!("/files/{gone}/metadata")).await.status(),
        404
    );
    let bytes = app
        .get(&format!("/files/{back}"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        crate::util::sha256_hex(&bytes),
        back,
        "the re-published blob survived the replay"
    );
}
