//! Which keys and holders a package answers to: a registry holding only an OpenPGP key
//! verifies packages by it (and refuses plugins rather than storing them unverified), and a
//! blob shared by a plugin and a package outlives either holder.

use serde_json::Value;

use crate::packages::{delete, post, publish_ecdsa, zip_like};
use crate::util::{TOKEN, TestApp, sha256_hex, sign};

/// One blob can be a plugin and a package: deleting either keeps it for the other, and
/// `cairn admin verify` counts the packages, names their blobs and finds no orphan.
#[tokio::test]
async fn shared_blobs_outlive_one_holder_and_admin_verify_names_package_blobs() {
    let mut app = TestApp::start().await;
    let plugin = crate::util::fixture("libmemflow_synthc.x86_64.so");
    let digest = app.upload_ok(plugin.clone(), "Added").await;
    publish_ecdsa(&app, "synthc-pkg", "0.1.0", plugin.clone()).await;
    assert_eq!(app.delete(&digest, Some(TOKEN)).await.status(), 200);
    let served = app.get("/packages/synthc-pkg/0.1.0/pkg.tar.gz").await;
    assert_eq!(served.headers()["content-type"], "application/gzip");
    assert_eq!(
        served.bytes().await.unwrap(),
        plugin,
        "the package keeps its blob"
    );
    publish_ecdsa(&app, "other", "1.0.0", zip_like(7, 100)).await;
    publish_ecdsa(&app, "gone", "1.0.0", zip_like(8, 100)).await;
    delete(&app, "gone", "1.0.0").await;
    assert!(!app.blob_exists(&sha256_hex(&zip_like(8, 100))).await);
    delete(&app, "synthc-pkg", "0.1.0").await;
    assert!(!app.blob_exists(&digest).await, "no holder is left");
    if cairn_testkit::pg::wanted() || cairn_testkit::s3::wanted() {
        return; // admin verify checks an embedded installation
    }
    app.stop().await;
    let report = cairn_registry::scrub::scrub(&cairn_registry::scrub::Scrub {
        data_dir: app.data_dir(),
        log: app.registry_config().log,
        delete_orphans: false,
    })
    .await
    .unwrap();
    assert_eq!(report.problems, Vec::<String>::new());
    assert!(report.orphans.is_empty(), "{:?}", report.orphans);
    assert_eq!((report.entries, report.packages), (7, 1));
}

/// A registry holding only an OpenPGP key takes packages signed by it, naming its
/// fingerprint, and refuses plugins (whose hex signatures no configured key can verify)
/// rather than storing them unverified.
#[tokio::test]
async fn an_openpgp_key_verifies_packages_and_plugins_are_refused_not_unverified() {
    let key = cairn_sign::PrivateKey::generate(cairn_sign::Algorithm::Ed25519).unwrap();
    let armored =
        cairn_sign::openpgp::export_public_key(&key, "Publisher <p@example.test>").unwrap();
    let fingerprint = cairn_sign::openpgp::OpenPgpKey::parse(armored.as_bytes())
        .unwrap()
        .fingerprint();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("publisher.asc");
    std::fs::write(&path, armored).unwrap();
    let app = TestApp::start_with(|c| c.registry.public_keys = vec![path]).await;

    let bytes = zip_like(9, 70_000);
    for armor in [true, false] {
        let version = if armor { "1.0.0" } else { "1.0.1" };
        let sig = cairn_sign::openpgp::sign_detached(&key, &bytes[..], armor).unwrap();
        let fields = [("name", "gpg-signed"), ("version", version)];
        let (status, body) = post(
            &app,
            &fields,
            Some(("p.zip", bytes.clone())),
            std::slice::from_ref(&sig),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let added: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(added["package"]["key_id"], fingerprint.as_str());
        let served = app
            .get(&format!("/packages/gpg-signed/{version}/p.zip.sig"))
            .await;
        assert_eq!(
            served.headers()["content-type"],
            "application/pgp-signature"
        );
        assert_eq!(served.bytes().await.unwrap(), sig, "served as uploaded");
    }
    let other = cairn_sign::PrivateKey::generate(cairn_sign::Algorithm::Ed25519).unwrap();
    let stranger = cairn_sign::openpgp::sign_detached(&other, &bytes[..], true).unwrap();
    let fields = [("name", "gpg-signed"), ("version", "2.0.0")];
    let (status, body) = post(&app, &fields, Some(("p.zip", bytes.clone())), &[stranger]).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("signature 1"), "{body}");

    let plugin = crate::util::fixture("libmemflow_synthc.x86_64.so");
    let r = app.upload(plugin.clone(), &sign(&plugin)).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("trusted key"));
}
