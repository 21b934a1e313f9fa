//! Packages with detached signatures over HTTP: upload with hex ECDSA and Ed25519
//! signatures, the listings, the bytes with ETag and Range, each signature under its
//! suffix, the log entry binding them, a same-version re-upload refused until a delete, and
//! every malformed upload refused without a trace.

use ed25519_dalek::Signer as _;
use ed25519_dalek::pkcs8::EncodePublicKey as _;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

use crate::util::{TOKEN, TestApp, sha256_hex, sign};

/// The Ed25519 test key, whose public half the server is given beside the fixture key.
fn ed_key() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[42u8; 32])
}

async fn app_with_ed25519() -> (TestApp, tempfile::TempDir) {
    let keys = tempfile::tempdir().unwrap();
    let pem = ed_key()
        .verifying_key()
        .to_public_key_pem(Default::default())
        .unwrap();
    let path = keys.path().join("ed25519.pub");
    std::fs::write(&path, pem).unwrap();
    let app = TestApp::start_with(|c| c.registry.public_keys.push(path)).await;
    (app, keys)
}

/// Bytes no plugin parser would take: a package is any file.
pub(crate) fn zip_like(tag: u8, len: usize) -> Vec<u8> {
    let mut bytes = b"PK\x03\x04".to_vec();
    bytes.extend((0..len).map(|i| (i as u8).wrapping_mul(31) ^ tag));
    bytes
}

pub(crate) async fn post(
    app: &TestApp,
    fields: &[(&str, &str)],
    file: Option<(&str, Vec<u8>)>,
    signatures: &[Vec<u8>],
) -> (u16, String) {
    let mut form = Form::new();
    if let Some((name, bytes)) = file {
        form = form.part("file", Part::bytes(bytes).file_name(name.to_owned()));
    }
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    for s in signatures {
        form = form.part("signature", Part::bytes(s.clone()));
    }
    let r = app
        .client
        .post(app.url("/packages"))
        .bearer_auth(TOKEN)
        .multipart(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Publishes `bytes` as `name` `version` with the fixture key's hex ECDSA signature only.
pub(crate) async fn publish_ecdsa(app: &TestApp, name: &str, version: &str, bytes: Vec<u8>) {
    let signatures = [sign(&bytes).into_bytes()];
    let fields = [("name", name), ("version", version)];
    let (status, body) = post(app, &fields, Some(("pkg.tar.gz", bytes)), &signatures).await;
    assert_eq!(status, 200, "{body}");
}

pub(crate) async fn delete(app: &TestApp, name: &str, version: &str) {
    let r = app
        .client
        .delete(app.url(&format!("/packages/{name}/{version}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

async fn publish(app: &TestApp, name: &str, version: &str, bytes: Vec<u8>) -> (u16, String) {
    let signatures = [
        sign(&bytes).into_bytes(),
        ed_key().sign(&bytes).to_bytes().to_vec(),
    ];
    let fields = [("name", name), ("version", version)];
    post(app, &fields, Some(("pkg.zip", bytes)), &signatures).await
}

#[tokio::test]
async fn a_package_is_stored_listed_served_and_bound_by_its_log_entry() {
    let (app, _keys) = app_with_ed25519().await;
    let bytes = zip_like(1, 300_000);
    let digest = sha256_hex(&bytes);
    let (status, body) = publish(&app, "nginx", "1.2.0", bytes.clone()).await;
    assert_eq!(status, 200, "{body}");
    let added: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(added["outcome"], "Added");
    let p = &added["package"];
    assert_eq!(p["digest"], digest.as_str());
    assert_eq!(p["media_type"], "application/zip");
    assert_eq!(p["signature_path"], "/packages/nginx/1.2.0/pkg.zip.ecdsa");
    let fixture_key = cairn_sign::PublicKey::from_file(
        &crate::util::fixtures().join("test-keys/fixture-test-pub-key.pem"),
    )
    .unwrap();
    let ed_id = cairn_sign::PublicKey::Ed25519(ed_key().verifying_key()).id();
    let kinds: Vec<(&str, &str)> = p["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["kind"].as_str().unwrap(), s["key_id"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("ecdsa", fixture_key.id().as_str()),
            ("ed25519", ed_id.as_str())
        ]
    );

    // Listings and the one-package answer agree with the upload's answer.
    let newer = zip_like(2, 1000);
    assert_eq!(publish(&app, "nginx", "1.10.0", newer).await.0, 200);
    assert_eq!(
        publish(&app, "apache", "2.0.0", zip_like(3, 10)).await.0,
        200
    );
    let listed = app.get_json("/packages/nginx").await;
    let versions: Vec<&str> = listed["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["1.10.0", "1.2.0"], "newest version first");
    let all = app.get_json("/packages?limit=2&skip=1").await;
    let names: Vec<&str> = all["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["nginx", "nginx"]);
    assert_eq!(all["skip"], 1);
    assert_eq!(app.get_json("/packages/nginx/1.2.0").await, *p);
    assert_eq!(app.get("/packages/nginx/9.9.9").await.status(), 404);
    assert_eq!(app.get("/packages/none").await.status(), 404);

    // The bytes, whole, by range and by ETag; each signature as uploaded.
    let r = app.get("/packages/nginx/1.2.0/pkg.zip").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/zip");
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(r.bytes().await.unwrap(), bytes);
    let part = app
        .client
        .get(app.url("/packages/nginx/1.2.0/pkg.zip"))
        .header("range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.bytes().await.unwrap(), bytes[10..20]);
    let cached = app
        .client
        .get(app.url("/packages/nginx/1.2.0/pkg.zip"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);
    let ecdsa = app.get("/packages/nginx/1.2.0/pkg.zip.ecdsa").await;
    assert_eq!(ecdsa.text().await.unwrap(), sign(&bytes));
    let ed = app.get("/packages/nginx/1.2.0/pkg.zip.ed25519").await;
    assert_eq!(
        ed.bytes().await.unwrap(),
        ed_key().sign(&bytes).to_bytes()[..]
    );
    assert_eq!(
        app.get("/packages/nginx/1.2.0/pkg.zip.sig").await.status(),
        404
    );
    assert_eq!(
        app.get("/packages/nginx/1.2.0/other.zip").await.status(),
        404
    );
    // Package bytes are not plugins: the memflow routes do not serve them.
    assert_eq!(app.get(&format!("/files/{digest}")).await.status(), 404);

    // The proof's entry binds name, version, bytes and signatures.
    let proof = app.get_json("/packages/nginx/1.2.0/proof").await;
    let entry = &proof["entry"];
    assert_eq!(entry["kind"], "package");
    assert_eq!(
        (&entry["name"], &entry["version"], &entry["digest"]),
        (
            &Value::from("nginx"),
            &Value::from("1.2.0"),
            &Value::from(digest.as_str())
        )
    );
    assert_eq!(entry["signatures"], p["signatures"]);
    assert_eq!(proof["index"], p["log_index"]);
    let text = app
        .client
        .get(app.url("/packages/nginx/1.2.0/proof"))
        .header("accept", "text/plain")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let parsed = cairn_tlog::TlogProof::parse(&text).unwrap();
    let logged: Value = serde_json::from_slice(&parsed.extra.unwrap()).unwrap();
    assert_eq!(logged, *entry);
}

#[tokio::test]
async fn a_version_is_published_once_until_it_is_deleted_and_the_log_shows_both() {
    let (app, _keys) = app_with_ed25519().await;
    let first = zip_like(4, 5000);
    assert_eq!(publish(&app, "pkg", "1.0.0", first.clone()).await.0, 200);
    let (status, body) = publish(&app, "pkg", "1.0.0", first.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["outcome"],
        "AlreadyExists"
    );
    let other = zip_like(5, 5000);
    let (status, body) = publish(&app, "pkg", "1.0.0", other.clone()).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body.contains("package pkg 1.0.0 is published already with other bytes")
            && body.contains(&sha256_hex(&first))
            && body.contains("delete that version first"),
        "{body}"
    );
    let unauthorized = app
        .client
        .delete(app.url("/packages/pkg/1.0.0"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);
    let deleted = app
        .client
        .delete(app.url("/packages/pkg/1.0.0"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    assert_eq!(app.get("/packages/pkg/1.0.0/pkg.zip").await.status(), 404);
    assert!(
        !app.blob_exists(&sha256_hex(&first)).await,
        "nothing else holds it"
    );
    let (status, body) = publish(&app, "pkg", "1.0.0", other.clone()).await;
    assert_eq!(status, 200, "{body}");
    let served = app
        .get("/packages/pkg/1.0.0/pkg.zip")
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(served, other);

    let kinds: Vec<(String, String)> = {
        let mut out = Vec::new();
        for i in 0..3 {
            let e = app.get_json(&format!("/log/entries/{i}")).await;
            let entry = &e["entry"];
            out.push((
                entry["kind"].as_str().unwrap().to_owned(),
                entry["digest"].as_str().unwrap().to_owned(),
            ));
        }
        out
    };
    assert_eq!(
        kinds,
        [
            ("package".into(), sha256_hex(&first)),
            ("package_delete".into(), sha256_hex(&first)),
            ("package".into(), sha256_hex(&other)),
        ]
    );
    assert_eq!(
        app.get("/log/entries/3").await.status(),
        404,
        "the AlreadyExists and refused uploads logged nothing"
    );
}

/// A malformed upload: its fields, file, signatures, the status expected and what the
/// answer must say.
type Case<'a> = (
    Vec<(&'a str, &'a str)>,
    Option<(&'a str, Vec<u8>)>,
    Vec<Vec<u8>>,
    u16,
    &'a str,
);

#[tokio::test]
async fn malformed_package_uploads_are_refused_and_leave_nothing() {
    let (app, _keys) = app_with_ed25519().await;
    let bytes = zip_like(6, 2000);
    let good = [sign(&bytes).into_bytes()];
    let file = || Some(("p.zip", bytes.clone()));
    let cases: Vec<Case> = vec![
        (
            vec![("version", "1.0.0")],
            file(),
            good.to_vec(),
            400,
            "name is required",
        ),
        (
            vec![("name", "p")],
            file(),
            good.to_vec(),
            400,
            "version is required",
        ),
        (
            vec![("name", "../p"), ("version", "1.0.0")],
            file(),
            good.to_vec(),
            400,
            "package name",
        ),
        (
            vec![("name", "p"), ("version", "1.0")],
            file(),
            good.to_vec(),
            400,
            "is not semver",
        ),
        (
            vec![("name", "p"), ("version", "1.0.0")],
            None,
            good.to_vec(),
            400,
            "file is required",
        ),
        (
            vec![
                ("name", "p"),
                ("version", "1.0.0"),
                ("filename", "p.zip.sig"),
            ],
            file(),
            good.to_vec(),
            400,
            "file name",
        ),
        (
            vec![("name", "p"), ("version", "1.0.0")],
            file(),
            vec![],
            400,
            "at least one signature",
        ),
        (
            vec![("name", "p"), ("version", "1.0.0")],
            file(),
            vec![b"not a signature".to_vec()],
            400,
            "signature 1",
        ),
        (
            vec![("name", "p"), ("version", "1.0.0")],
            file(),
            vec![sign(b"other bytes").into_bytes()],
            400,
            "signature 1",
        ),
        (
            vec![
                ("name", "p"),
                ("version", "1.0.0"),
                ("media_type", "not a type"),
            ],
            file(),
            good.to_vec(),
            400,
            "media type",
        ),
    ];
    for (fields, file, signatures, status, says) in cases {
        let (got, body) = post(&app, &fields, file, &signatures).await;
        assert_eq!(
            (got, body.contains(says)),
            (status, true),
            "{fields:?}: {body}"
        );
    }
    assert_eq!(
        app.get("/log/entries/0").await.status(),
        404,
        "nothing was logged"
    );
    assert!(
        !app.blob_exists(&sha256_hex(&bytes)).await,
        "nothing was stored"
    );
    let listed = app.get_json("/packages").await;
    assert_eq!(listed["packages"], Value::Array(vec![]));
}
