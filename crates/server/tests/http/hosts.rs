//! Hosts and scan reports: a host's token submits that host's scans and nothing else, its
//! scans must verify under its key, and each arriving scan is compared with the host's
//! baseline and previous scan, the report logged, served and counted in `/metrics`.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use k256::ecdsa::SigningKey;
use k256::pkcs8::{EncodePublicKey as _, LineEnding};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::util::{TOKEN, TestApp, fixture, sha256_hex, sign, sign_with};

/// A host key from a fixed seed (each test host its own).
pub(crate) fn host_key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32].into()).unwrap()
}

pub(crate) fn public_pem(key: &SigningKey) -> String {
    key.verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap()
}

/// Enrols `name` with `key`; its token.
pub(crate) async fn enroll(app: &TestApp, name: &str, key: &SigningKey) -> String {
    let (status, body) = add(app, name, &public_pem(key), Some(TOKEN)).await;
    assert_eq!(status, 201, "{body}");
    let added: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(added["host"]["name"], name);
    added["token"].as_str().unwrap().to_owned()
}

async fn add(app: &TestApp, name: &str, key: &str, token: Option<&str>) -> (u16, String) {
    let mut r = app
        .client
        .post(app.url("/hosts"))
        .json(&json!({"name": name, "key": key}));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// A scan of the tree at `root`, as that system sees itself, carrying host `host`.
pub(crate) fn scan_of(host: &str, root: &Path) -> Vec<u8> {
    let mut scan = cairn_scan::Scanner::new(vec!["/".into()])
        .root(root)
        .threads(1)
        .scan()
        .unwrap();
    scan.header.host = host.to_owned();
    let mut bytes = Vec::new();
    cairn_scan::Manifest::write(&scan, &mut bytes).unwrap();
    bytes
}

/// A small system: a binary in /usr/bin and a config file.
pub(crate) fn system() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("usr/bin")).unwrap();
    std::fs::create_dir_all(root.path().join("etc")).unwrap();
    std::fs::write(root.path().join("usr/bin/tool"), b"\x7fELF tool v1").unwrap();
    std::fs::write(root.path().join("etc/motd"), b"hello").unwrap();
    root
}

pub(crate) async fn submit(app: &TestApp, bytes: Vec<u8>, sig: &str, token: &str) -> (u16, String) {
    let form = Form::new()
        .part("file", Part::bytes(bytes).file_name("scan.jsonl"))
        .text("signature", sig.to_owned());
    let r = app
        .client
        .post(app.url("/scans"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

pub(crate) async fn set_baseline(
    app: &TestApp,
    host: &str,
    scan: &str,
    token: &str,
) -> (u16, String) {
    let r = app
        .client
        .put(app.url(&format!("/hosts/{host}/baseline")))
        .bearer_auth(token)
        .json(&json!({ "scan": scan }))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn a_host_token_submits_scans_of_its_host_signed_by_its_key_and_nothing_else() {
    let app = TestApp::start().await;
    let web = host_key(1);
    let token = enroll(&app, "web1", &web).await;
    assert!(token.starts_with("cairn_host_"), "{token}");
    let root = system();

    let own = scan_of("web1", root.path());
    let (status, body) = submit(&app, own.clone(), &sign_with(&web, &own), &token).await;
    assert_eq!(status, 200, "its own scan, signed by its key: {body}");

    // Another host's scan, even signed by that host's key: 403.
    let db = host_key(2);
    enroll(&app, "db2", &db).await;
    let other = scan_of("db2", root.path());
    let (status, body) = submit(&app, other.clone(), &sign_with(&db, &other), &token).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("host web1 only"), "{body}");

    // Its own host's scan signed by another key: refused, with its token or the global one.
    std::fs::write(root.path().join("etc/motd"), b"changed").unwrap();
    let forged = scan_of("web1", root.path());
    for t in [token.as_str(), TOKEN] {
        let (status, body) = submit(&app, forged.clone(), &sign(&forged), t).await;
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("web1's key"), "{body}");
    }

    // A host token is no write token: no plugin upload or deletion, no enrolment, no baseline.
    let plugin = fixture("libmemflow_synthc.x86_64.so");
    let form = Form::new()
        .part("file", Part::bytes(plugin.clone()).file_name("p.so"))
        .text("signature", sign(&plugin));
    let r = app
        .client
        .post(app.url("/files"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let published = app.upload_ok(plugin.clone(), "Added").await;
    assert_eq!(app.delete(&published, Some(&token)).await.status(), 401);
    assert_eq!(app.get(&format!("/files/{published}")).await.status(), 200);
    let (status, _) = add(&app, "evil", &public_pem(&host_key(3)), Some(&token)).await;
    assert_eq!(status, 401);
    let (status, _) = set_baseline(&app, "web1", &sha256_hex(&own), &token).await;
    assert_eq!(status, 401);
    let (status, _) = add(&app, "evil", &public_pem(&host_key(3)), None).await;
    assert_eq!(status, 401);

    // A made-up host token, and a second enrolment of a name: refused.
    let (status, _) = submit(&app, own.clone(), &sign_with(&web, &own), "cairn_host_00").await;
    assert_eq!(status, 401);
    let (status, body) = add(&app, "web1", &public_pem(&host_key(4)), Some(TOKEN)).await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = add(&app, "../x", &public_pem(&host_key(4)), Some(TOKEN)).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = add(&app, "k", "not a key", Some(TOKEN)).await;
    assert_eq!(status, 400, "{body}");

    // The enrolment is public and logged with the key, never with the token.
    let hosts = app.get_json("/hosts").await;
    let names: Vec<&str> = hosts["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["db2", "web1"]);
    let index = hosts["hosts"][1]["log_index"].as_u64().unwrap();
    let entry = app.get_json(&format!("/log/entries/{index}")).await;
    assert_eq!(entry["entry"]["kind"], "host");
    assert_eq!(entry["entry"]["key"], public_pem(&web).as_str());
    assert!(
        !entry.to_string().contains(&token),
        "the token is in the log"
    );
}

#[tokio::test]
async fn arriving_scans_are_compared_with_the_baseline_and_the_previous_scan() {
    let app = TestApp::start().await;
    let key = host_key(5);
    let token = enroll(&app, "web1", &key).await;
    let root = system();
    let first = scan_of("web1", root.path());
    let (status, body) = submit(&app, first.clone(), &sign_with(&key, &first), &token).await;
    assert_eq!(status, 200, "{body}");
    let first_digest = sha256_hex(&first);
    let report = app.get_json(&format!("/scans/{first_digest}/report")).await;
    assert_eq!(
        report["report"],
        json!({}),
        "no baseline and no previous scan: {report}"
    );

    // A baseline must be a stored scan of that host.
    let (status, body) = set_baseline(&app, "nohost", &first_digest, TOKEN).await;
    assert_eq!(status, 404, "{body}");
    let other_key = host_key(6);
    let other_token = enroll(&app, "db2", &other_key).await;
    let other = scan_of("db2", root.path());
    let (status, _) = submit(
        &app,
        other.clone(),
        &sign_with(&other_key, &other),
        &other_token,
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = set_baseline(&app, "web1", &sha256_hex(&other), TOKEN).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = set_baseline(&app, "web1", &first_digest, TOKEN).await;
    assert_eq!(status, 200, "{body}");
    let set: Value = serde_json::from_str(&body).unwrap();
    let entry = app
        .get_json(&format!("/log/entries/{}", set["log_index"]))
        .await;
    assert_eq!(entry["entry"]["kind"], "baseline");
    assert_eq!(entry["entry"]["scan"], first_digest.as_str());

    // A planted setuid binary and a changed system binary.
    let planted = root.path().join("opt/backdoor");
    std::fs::create_dir_all(planted.parent().unwrap()).unwrap();
    std::fs::write(&planted, b"#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o4755)).unwrap();
    std::fs::write(
        root.path().join("usr/bin/tool"),
        b"\x7fELF tool v2 (trojaned)",
    )
    .unwrap();
    let second = scan_of("web1", root.path());
    let (status, body) = submit(&app, second.clone(), &sign_with(&key, &second), &token).await;
    assert_eq!(status, 200, "{body}");
    let added: Value = serde_json::from_str(&body).unwrap();
    let digest = sha256_hex(&second);
    let answer = app.get_json(&format!("/scans/{digest}/report")).await;
    let baseline = &answer["report"]["baseline"];
    assert_eq!(baseline["against"], first_digest.as_str());
    assert_eq!(
        baseline["anomalies"],
        json!({"setuid": 1, "system_binary": 1}),
        "{answer}"
    );
    let flagged: Vec<(&str, &str)> = baseline["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["anomalies"].is_array())
        .map(|f| {
            (
                f["path"].as_str().unwrap(),
                f["anomalies"][0].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        flagged,
        [
            ("/opt/backdoor", "setuid"),
            ("/usr/bin/tool", "system_binary")
        ],
        "exactly those, setuid first: {answer}"
    );
    assert_eq!(
        answer["report"]["previous"]["against"],
        first_digest.as_str()
    );

    // The report is the one in the scan's log entry.
    let index = added["log_index"].as_u64().unwrap();
    let entry = app.get_json(&format!("/log/entries/{index}")).await;
    assert_eq!(entry["entry"]["report"], answer["report"]);

    // And it is counted by host and kind.
    let metrics = app.get("/metrics").await.text().await.unwrap();
    for line in [
        r#"cairn_scan_anomalies{host="web1",kind="setuid"} 1"#,
        r#"cairn_scan_anomalies{host="web1",kind="system_binary"} 1"#,
        r#"cairn_scan_anomalies{host="web1",kind="world_writable"} 0"#,
    ] {
        assert!(metrics.contains(line), "{line} not in:\n{metrics}");
    }

    // Unknown and malformed scans have no report.
    assert_eq!(
        app.get(&format!("/scans/{}/report", "0".repeat(64)))
            .await
            .status(),
        404
    );
    assert_eq!(app.get("/scans/xyz/report").await.status(), 400);
}
