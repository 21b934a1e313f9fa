//! `POST /scans`, `GET /scans?host=`, `GET /scans/{digest}`: a signed scan is checked,
//! stored, logged once and served back byte for byte.

use reqwest::multipart::{Form, Part};

use crate::util::{TOKEN, TestApp, sha256_hex, sign};

pub(crate) async fn post(app: &TestApp, bytes: Vec<u8>, signature: &str) -> (u16, String) {
    let form = Form::new()
        .part("file", Part::bytes(bytes).file_name("scan.jsonl"))
        .text("signature", signature.to_owned());
    let r = app
        .client
        .post(app.url("/scans"))
        .bearer_auth(TOKEN)
        .multipart(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// A scan record of a small tree: `a` and `d/b`, as `cairn scan` writes it.
pub(crate) fn small_scan() -> Vec<u8> {
    let tree = tempfile::tempdir().unwrap();
    std::fs::write(tree.path().join("a"), b"alpha").unwrap();
    std::fs::create_dir(tree.path().join("d")).unwrap();
    std::fs::write(tree.path().join("d/b"), b"beta").unwrap();
    let scan = cairn_scan::Scanner::new(vec![tree.path().to_path_buf()])
        .threads(1)
        .scan()
        .unwrap();
    let mut bytes = Vec::new();
    cairn_scan::Manifest::write(&scan, &mut bytes).unwrap();
    bytes
}

#[tokio::test]
async fn a_signed_scan_is_stored_logged_listed_and_served() {
    let app = TestApp::start().await;
    let bytes = small_scan();
    let digest = sha256_hex(&bytes);

    let (status, body) = post(&app, bytes.clone(), &sign(&bytes)).await;
    assert_eq!(status, 200, "{body}");
    let added: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(added["outcome"], "Added");
    assert_eq!(added["digest"], digest.as_str());
    assert_eq!(added["entries"], 4, "the root, a, d and d/b");
    let index = added["log_index"]
        .as_u64()
        .expect("a scan without a log index");
    let entry = app.get_json(&format!("/log/entries/{index}")).await;
    assert_eq!(entry["entry"]["kind"], "scan");
    assert_eq!(entry["entry"]["scan"]["digest"], digest.as_str());

    // Again: the same scan, not logged twice.
    let (status, body) = post(&app, bytes.clone(), &sign(&bytes)).await;
    assert_eq!(status, 200, "{body}");
    let again: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(again["outcome"], "AlreadyExists");
    assert_eq!(again["log_index"], index);
    let size: u64 = app
        .get("/log/checkpoint")
        .await
        .text()
        .await
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(size, index + 1, "the duplicate was logged");

    let host = added["host"].as_str().unwrap();
    let listed = app.get_json(&format!("/scans?host={host}")).await;
    assert_eq!(listed["scans"].as_array().unwrap().len(), 1);
    assert_eq!(listed["scans"][0]["digest"], digest.as_str());
    let served = app
        .get(&format!("/scans/{digest}"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(served.as_ref(), &bytes[..]);

    // A truncated scan, or a signature over other bytes: refused, nothing stored.
    let cut = bytes[..bytes.len() - 10].to_vec();
    let (status, _) = post(&app, cut.clone(), &sign(&cut)).await;
    assert_eq!(status, 400);
    let mut other = bytes.clone();
    other.push(b'\n');
    let (status, _) = post(&app, other, &sign(&bytes)).await;
    assert_eq!(status, 400);
    let listed = app.get_json("/scans").await;
    assert_eq!(listed["scans"].as_array().unwrap().len(), 1);
}
