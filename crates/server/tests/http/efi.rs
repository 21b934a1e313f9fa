//! `POST /efi/images`, `POST /efi/vars`, `GET /efi?authenticode=`, `GET /efi/{digest}`,
//! `GET /efi/{digest}/proof`: a signed EFI image or variable update is checked, stored,
//! logged once and proven; what does not verify is refused with nothing stored or logged.

use base64::Engine as _;
use cairn_efi::auth::{EfiTime, Variable};
use cairn_efi::keygen::{KeySpec, NewKey, generate};
use cairn_tlog::NoteVerifier;
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::util::{TOKEN, TestApp, hex, sha256_hex};

const HELLO: &str = "/usr/lib/efitools/x86_64-linux-gnu/HelloWorld.efi";

pub(crate) fn key(subject: &str) -> NewKey {
    let spec = KeySpec {
        subject,
        bits: 2048,
        validity: std::time::Duration::from_secs(86_400),
        ca: false,
    };
    generate(&spec, None).unwrap()
}

pub(crate) fn hello() -> Vec<u8> {
    std::fs::read(HELLO).unwrap()
}

/// HelloWorld.efi signed by a new key: the image and the signer's certificate fingerprint.
pub(crate) fn signed_image(subject: &str) -> (Vec<u8>, String) {
    let db = key(subject);
    let signed = cairn_efi::sign::sign(&hello(), &db.key).unwrap();
    let fingerprint = hex(&Sha256::digest(db.key.certificate_der().unwrap()));
    (signed.image, fingerprint)
}

/// A db update (appending a new certificate) signed by a new KEK, and the KEK's fingerprint.
pub(crate) fn db_update() -> (Vec<u8>, String, Vec<u8>) {
    let (kek, db) = (key("CN=test KEK"), key("CN=test db"));
    let list = cairn_efi::siglist::to_bytes(&[cairn_efi::siglist::SignatureList::x509(
        cairn_efi::Guid::random(),
        &db.key.certificate_der().unwrap(),
    )]);
    let time = EfiTime::parse("2024-05-06 07:08:09").unwrap();
    let update = cairn_efi::auth::signed_update(Variable::Db, time, true, &list, &kek.key).unwrap();
    let fingerprint = hex(&Sha256::digest(kek.key.certificate_der().unwrap()));
    (update, fingerprint, list)
}

async fn post(app: &TestApp, path: &str, form: Form, token: Option<&str>) -> (u16, Value) {
    let mut request = app.client.post(app.url(path)).multipart(form);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

pub(crate) async fn post_image(app: &TestApp, bytes: Vec<u8>) -> (u16, Value) {
    let form = Form::new().part("file", Part::bytes(bytes).file_name("image.efi"));
    post(app, "/efi/images", form, Some(TOKEN)).await
}

pub(crate) async fn post_vars(
    app: &TestApp,
    bytes: Vec<u8>,
    variable: &str,
    append: bool,
) -> (u16, Value) {
    let form = Form::new()
        .part("file", Part::bytes(bytes).file_name("db.auth"))
        .text("variable", variable.to_owned())
        .text("append", append.to_string());
    post(app, "/efi/vars", form, Some(TOKEN)).await
}

fn key_of(app: &TestApp) -> NoteVerifier {
    cairn_tlog::keyfile::load(
        &app.data_dir().join("keys/log.pem"),
        &cairn_tlog::keyfile::default_origin(),
    )
    .unwrap()
    .verifier()
}

async fn log_size(app: &TestApp) -> u64 {
    let text = app.get("/log/checkpoint").await.text().await.unwrap();
    text.lines().nth(1).unwrap().parse().unwrap()
}

/// The proof of `digest`'s entry verifies against the log key; the entry it proves.
async fn proven_entry(app: &TestApp, digest: &str) -> (u64, Value) {
    let proof = app.get_json(&format!("/efi/{digest}/proof")).await;
    let key = key_of(app);
    let cp =
        cairn_tlog::verify::open_checkpoint(proof["checkpoint"].as_str().unwrap().as_bytes(), &key)
            .unwrap();
    let hashes: Vec<cairn_tlog::Hash> = proof["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            base64::engine::general_purpose::STANDARD
                .decode(h.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect();
    let index = proof["index"].as_u64().unwrap();
    let leaf = cairn_tlog::merkle::leaf_hash(&cairn_tlog::entry::canonical(&proof["entry"]));
    cairn_tlog::merkle::verify_inclusion(index, cp.size, &leaf, &hashes, &cp.root).unwrap();
    (index, proof["entry"].clone())
}

#[tokio::test]
async fn a_signed_image_is_checked_stored_logged_and_proven() {
    let app = TestApp::start().await;
    let (image, signer) = signed_image("CN=cairn db");
    let digest = sha256_hex(&image);
    let authenticode = hex(&cairn_efi::authenticode::digest(&image).unwrap());

    let (status, added) = post_image(&app, image.clone()).await;
    assert_eq!(status, 200, "{added}");
    assert_eq!(added["outcome"], "Added");
    assert_eq!(added["kind"], "efi_image");
    assert_eq!(added["digest"], digest.as_str());
    assert_eq!(added["size"], image.len() as u64);
    assert_eq!(added["authenticode"], authenticode.as_str());
    assert_eq!(added["signers"], serde_json::json!([signer]));
    let index = added["log_index"].as_u64().unwrap();

    // The log entry records the same, and its proof verifies.
    let (proven, entry) = proven_entry(&app, &digest).await;
    assert_eq!(proven, index);
    assert_eq!(entry["kind"], "efi_image");
    assert_eq!(entry["digest"], digest.as_str());
    assert_eq!(entry["size"], image.len() as u64);
    assert_eq!(entry["authenticode"], authenticode.as_str());
    assert_eq!(entry["signers"], serde_json::json!([signer]));
    let logged = app.get_json(&format!("/log/entries/{index}")).await;
    assert_eq!(logged["entry"], entry);

    // Served back byte for byte; found by its Authenticode digest.
    let served = app
        .get(&format!("/efi/{digest}"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(served.as_ref(), &image[..]);
    let listed = app
        .get_json(&format!("/efi?authenticode={authenticode}"))
        .await;
    assert_eq!(listed["files"].as_array().unwrap().len(), 1);
    assert_eq!(listed["files"][0]["digest"], digest.as_str());
    assert_eq!(app.get("/efi?authenticode=zz").await.status(), 400);

    // Twice signed: two signers, in signature order, under the same Authenticode digest.
    let second = key("CN=cairn db 2");
    let twice = cairn_efi::sign::sign(&image, &second.key).unwrap().image;
    let (status, again) = post_image(&app, twice.clone()).await;
    assert_eq!(status, 200, "{again}");
    let second_fp = hex(&Sha256::digest(second.key.certificate_der().unwrap()));
    assert_eq!(again["signers"], serde_json::json!([signer, second_fp]));
    assert_eq!(again["authenticode"], authenticode.as_str());
    let listed = app
        .get_json(&format!("/efi?authenticode={authenticode}"))
        .await;
    assert_eq!(listed["files"].as_array().unwrap().len(), 2);

    // The same bytes again: AlreadyExists, nothing logged.
    let size = log_size(&app).await;
    let (status, same) = post_image(&app, image.clone()).await;
    assert_eq!(status, 200, "{same}");
    assert_eq!(same["outcome"], "AlreadyExists");
    assert_eq!(same["log_index"], index);
    assert_eq!(log_size(&app).await, size, "the duplicate was logged");
    assert_eq!(
        app.get(&format!("/efi/{}", "0".repeat(64))).await.status(),
        404
    );
    assert_eq!(
        app.get(&format!("/efi/{}/proof", "0".repeat(64)))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn images_whose_signatures_do_not_stand_are_refused_and_nothing_is_stored() {
    let app = TestApp::start().await;
    let (image, _) = signed_image("CN=cairn db");
    // The last bytes of the (only) SignedData are its RSA signature, before the padding.
    let (at, length) = cert_table(&image);
    let mut tampered = image.clone();
    tampered[at + length - 10] ^= 1;
    // A byte of the code: the signature signs another digest.
    let mut edited = image.clone();
    edited[at / 2] ^= 1;
    let cases = [
        (hello(), 422, "refused EFI image: the image is not signed"),
        (
            b"MZ but no PE image at all".to_vec(),
            400,
            "refused EFI image: not a valid PE image",
        ),
        (tampered, 422, "signature 0 of the image does not verify"),
        (edited, 422, "it signs another image digest"),
    ];
    for (bytes, want, why) in cases {
        let digest = sha256_hex(&bytes);
        let (status, body) = post_image(&app, bytes).await;
        assert_eq!(status, want, "{body}");
        assert!(body.as_str().unwrap().contains(why), "{why:?} in {body}");
        assert!(
            !app.blob_exists(&digest).await,
            "a refused image was stored"
        );
        assert_eq!(app.get(&format!("/efi/{digest}")).await.status(), 404);
    }
    assert_eq!(log_size(&app).await, 0, "a refused image was logged");

    // No token, a wrong one: 401.
    let form = || Form::new().part("file", Part::bytes(image.clone()).file_name("i.efi"));
    let (status, _) = post(&app, "/efi/images", form(), None).await;
    assert_eq!(status, 401);
    let (status, _) = post(&app, "/efi/images", form(), Some("wrong")).await;
    assert_eq!(status, 401);
    let vars = Form::new()
        .part("file", Part::bytes(vec![0; 64]).file_name("db.auth"))
        .text("variable", "db");
    let (status, _) = post(&app, "/efi/vars", vars, None).await;
    assert_eq!(status, 401);
    assert_eq!(log_size(&app).await, 0);
}

/// `(offset, dwLength)` of the first WIN_CERTIFICATE of a signed image.
fn cert_table(image: &[u8]) -> (usize, usize) {
    let pe = u32::from_le_bytes(image[0x3c..0x40].try_into().unwrap()) as usize;
    let magic = u16::from_le_bytes(image[pe + 24..pe + 26].try_into().unwrap());
    let dirs = pe + 24 + if magic == 0x20b { 112 } else { 96 };
    let at = u32::from_le_bytes(image[dirs + 32..dirs + 36].try_into().unwrap()) as usize;
    let length = u32::from_le_bytes(image[at..at + 4].try_into().unwrap()) as usize;
    (at, length)
}

#[tokio::test]
async fn a_signed_update_is_logged_for_its_variable_and_kind_of_write_only() {
    let app = TestApp::start().await;
    let (update, signer, list) = db_update();
    let digest = sha256_hex(&update);

    // Refused for another variable, or as a replacing write: the signature covers both.
    for (variable, append) in [("dbx", true), ("KEK", true), ("db", false)] {
        let (status, body) = post_vars(&app, update.clone(), variable, append).await;
        assert_eq!(status, 422, "{variable} {append}: {body}");
        assert!(
            body.as_str().unwrap().contains(&format!(
                "refused signed variable update: the signature does not verify as an update of {variable}"
            )),
            "{body}"
        );
    }
    let (status, body) = post_vars(&app, vec![7; 100], "db", true).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.as_str()
            .unwrap()
            .contains("malformed signed variable update"),
        "{body}"
    );
    assert!(!app.blob_exists(&sha256_hex(&[7; 100])).await);
    let (status, body) = post_vars(&app, update.clone(), "boot", true).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        !app.blob_exists(&digest).await,
        "a refused update was stored"
    );

    let (status, body) = post_vars(&app, update.clone(), "db", true).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "Added");
    assert_eq!(body["kind"], "efi_vars");
    assert_eq!(body["variable"], "db");
    assert_eq!(body["append"], true);
    assert_eq!(body["time"], "2024-05-06 07:08:09");
    assert_eq!(body["list_digest"], sha256_hex(&list).as_str());
    assert_eq!(body["signer"], signer.as_str());
    let index = body["log_index"].as_u64().unwrap();
    assert_eq!(index, 0, "the refused updates were logged");
    let (proven, entry) = proven_entry(&app, &digest).await;
    assert_eq!(proven, index);
    assert_eq!(entry["kind"], "efi_vars");
    assert_eq!(entry["variable"], "db");
    assert_eq!(entry["signer"], signer.as_str());
    let served = app
        .get(&format!("/efi/{digest}"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(served.as_ref(), &update[..]);
    let (status, again) = post_vars(&app, update, "db", true).await;
    assert_eq!(
        (status, again["outcome"].as_str()),
        (200, Some("AlreadyExists"))
    );
    assert_eq!(log_size(&app).await, 1);
}

/// `cairn admin verify` names the EFI files' blobs: they are no orphans, and their rows are
/// exactly what the log implies (the embedded installation it checks).
#[tokio::test]
async fn scrub_counts_efi_files_and_finds_no_orphans() {
    if cairn_testkit::pg::wanted() || cairn_testkit::s3::wanted() {
        return; // admin verify checks an embedded installation
    }
    let mut app = TestApp::start().await;
    let (image, _) = signed_image("CN=cairn db");
    assert_eq!(post_image(&app, image).await.0, 200);
    let (update, _, _) = db_update();
    assert_eq!(post_vars(&app, update, "db", true).await.0, 200);
    app.stop().await;
    let report = cairn_registry::scrub::scrub(&cairn_registry::scrub::Scrub {
        data_dir: app.data_dir(),
        log: app.registry_config().log,
        delete_orphans: true,
    })
    .await
    .unwrap();
    assert_eq!(report.problems, Vec::<String>::new());
    assert!(report.orphans.is_empty(), "{:?}", report.orphans);
    assert_eq!((report.entries, report.efi_files), (2, 2));
}
