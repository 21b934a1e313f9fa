//! `POST /log/entries`: in-toto links and DSSE envelopes, checked, stored and logged.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::Signer;
use ed25519_dalek::pkcs8::EncodePublicKey;
use serde_json::json;

use crate::util::{TOKEN, TestApp, fixtures};

pub(crate) fn in_toto(name: &str) -> std::path::PathBuf {
    fixtures().join("../in-toto").join(name)
}

pub(crate) async fn submit(app: &TestApp, body: Vec<u8>, token: Option<&str>) -> (u16, String) {
    let mut req = app.client.post(app.url("/log/entries")).body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn in_toto_link_is_verified_stored_and_logged() {
    let app = TestApp::start_with(|c| c.registry.public_keys.push(in_toto("signer.pub.pem"))).await;
    let link = std::fs::read(in_toto("package.1c656f99.link")).unwrap();
    assert_eq!(submit(&app, link.clone(), None).await.0, 401);
    let (status, body) = submit(&app, link.clone(), Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["format"], "in-toto-link");
    assert_eq!(
        answer["subjects"],
        json!(["bb7b0f66816f3b03f37459f3bd6a41a444d425fa4c170d13c55d393a1a9a241c"])
    );
    assert_eq!(answer["signers"].as_array().unwrap().len(), 1);
    let digest = answer["digest"].as_str().unwrap();
    let stored = app
        .get(&format!("/attestations/{digest}"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(stored.as_ref(), &link[..]);
    let entry = app
        .get_json(&format!("/log/entries/{}", answer["index"]))
        .await;
    assert_eq!(entry["entry"]["kind"], "attestation");
    assert_eq!(entry["entry"]["digest"], digest);

    // Whitespace is not signed (the signature covers the canonical form)…
    let v: serde_json::Value = serde_json::from_slice(&link).unwrap();
    let compact = serde_json::to_vec(&v).unwrap();
    assert_eq!(submit(&app, compact, Some(TOKEN)).await.0, 200);
    // …every byte of `signed` is.
    let tampered = String::from_utf8(link.clone())
        .unwrap()
        .replace("bb7b0f66", "bb7b0f67");
    let (status, body) = submit(&app, tampered.into_bytes(), Some(TOKEN)).await;
    assert_eq!(status, 400);
    assert!(body.contains("does not verify"), "{body}");
    for bad in [
        &b"not json"[..],
        b"{}",
        b"{\"signed\": {}, \"signatures\": []}",
    ] {
        assert_eq!(
            submit(&app, bad.to_vec(), Some(TOKEN)).await.0,
            400,
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    // The server answers 413 as soon as the declared length is too large; the client may
    // still be sending, so the answer can also arrive as a reset connection. Never a 2xx.
    let oversize = app
        .client
        .post(app.url("/log/entries"))
        .bearer_auth(TOKEN)
        .body(vec![b' '; 2 << 20])
        .send()
        .await;
    match oversize {
        Ok(r) => assert_eq!(r.status(), 413),
        Err(e) => assert!(e.is_request() || e.is_body(), "{e}"),
    }
}

#[tokio::test]
async fn links_by_unconfigured_keys_are_refused() {
    let app = TestApp::start().await;
    let link = std::fs::read(in_toto("package.1c656f99.link")).unwrap();
    let (status, body) = submit(&app, link, Some(TOKEN)).await;
    assert_eq!(status, 400);
    assert!(body.contains("no signature by a configured key"), "{body}");
}

/// An Ed25519 key made from `seed`, and a server that trusts it for attestations.
pub(crate) async fn dsse_app(seed: u8) -> (ed25519_dalek::SigningKey, TestApp) {
    let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("dsse.pub.pem");
    std::fs::write(
        &pem,
        key.verifying_key()
            .to_public_key_pem(Default::default())
            .unwrap(),
    )
    .unwrap();
    // The server reads the key at start: the directory may go afterwards.
    let app = TestApp::start_with(|c| c.registry.public_keys.push(pem.clone())).await;
    (key, app)
}

/// A DSSE envelope of `payload` whose signature covers `signed` (the same bytes, unless a
/// test wants them to differ).
pub(crate) fn dsse_envelope(
    key: &ed25519_dalek::SigningKey,
    payload: &[u8],
    signed: &[u8],
) -> Vec<u8> {
    let ty = "application/vnd.in-toto+json";
    let mut pae = format!("DSSEv1 {} {ty} {} ", ty.len(), signed.len()).into_bytes();
    pae.extend_from_slice(signed);
    let sig = key.sign(&pae);
    serde_json::to_vec(&json!({"payloadType": ty, "payload": B64.encode(payload), "signatures": [{"keyid": "", "sig": B64.encode(sig.to_bytes())}]})).unwrap()
}

#[tokio::test]
async fn dsse_envelopes_are_verified() {
    let (key, app) = dsse_app(5).await;
    let statement = json!({"_type": "https://in-toto.io/Statement/v1", "subject": [{"name": "p.so", "digest": {"sha256": "ab".repeat(32)}}], "predicateType": "x", "predicate": {}});
    let payload = serde_json::to_vec(&statement).unwrap();
    let envelope = |payload: &[u8], signed: &[u8]| dsse_envelope(&key, payload, signed);
    let (status, body) = submit(&app, envelope(&payload, &payload), Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["format"], "dsse");
    assert_eq!(answer["subjects"], json!(["ab".repeat(32)]));
    let mut other = payload.clone();
    other[5] ^= 1;
    assert_eq!(
        submit(&app, envelope(&other, &payload), Some(TOKEN))
            .await
            .0,
        400,
        "payload changed after signing"
    );
}

#[tokio::test]
async fn an_attestation_is_logged_once() {
    let app = TestApp::start_with(|c| c.registry.public_keys.push(in_toto("signer.pub.pem"))).await;
    let link = std::fs::read(in_toto("package.1c656f99.link")).unwrap();
    let (status, body) = submit(&app, link.clone(), Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    let first: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(first["outcome"], "Added");
    let size = |app: &TestApp| {
        let app = app.url("/log/checkpoint");
        async move {
            let text = reqwest::get(app).await.unwrap().text().await.unwrap();
            text.lines().nth(1).unwrap().parse::<u64>().unwrap()
        }
    };
    let before = size(&app).await;
    let (status, body) = submit(&app, link, Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    let again: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(again["outcome"], "AlreadyExists");
    assert_eq!(again["index"], first["index"]);
    assert_eq!(size(&app).await, before, "logged a second time");
}

#[tokio::test]
async fn an_attestation_too_large_to_log_is_not_stored() {
    let (key, app) = dsse_app(6).await;
    // 1,500 subjects: a 160 KB document, but a log entry of about 100 KB.
    let subjects: Vec<_> = (0..1500u32)
        .map(|i| json!({"name": format!("f{i}"), "digest": {"sha256": format!("{i:064x}")}}))
        .collect();
    let statement = json!({"_type": "https://in-toto.io/Statement/v1", "subject": subjects, "predicateType": "x", "predicate": {}});
    let payload = serde_json::to_vec(&statement).unwrap();
    let ty = "application/vnd.in-toto+json";
    let mut pae = format!("DSSEv1 {} {ty} {} ", ty.len(), payload.len()).into_bytes();
    pae.extend_from_slice(&payload);
    let sig = key.sign(&pae);
    let doc = serde_json::to_vec(&json!({"payloadType": ty, "payload": B64.encode(&payload), "signatures": [{"keyid": "", "sig": B64.encode(sig.to_bytes())}]})).unwrap();
    let digest = crate::util::sha256_hex(&doc);
    let (status, body) = submit(&app, doc, Some(TOKEN)).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("too many subjects or signers in the attestation"),
        "{body}"
    );
    assert!(!body.contains("descriptors"), "{body}");
    let served = app.get(&format!("/attestations/{digest}")).await;
    assert_eq!(served.status(), 404, "a refused attestation is served");
}
