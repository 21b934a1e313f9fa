//! The index is the log's projection: rebuilt from the log alone, it is row for row the
//! index the write path built, on SQLite and on PostgreSQL.

use cairn_registry::Registry;

use crate::util::{TOKEN, TestApp, fixture, padded_plugin, sign};

/// Every kind of entry goes through the write path (publications, a deletion, a digest
/// published again after its deletion, a scan, an attestation, a signed EFI image, a
/// signed variable update, a host, its baseline, a scan with a report, and packages, one
/// deleted and published again, and a trust policy); then the index the write
/// path built is read whole, rebuilt from the log, and read again.
#[tokio::test]
async fn reindexing_gives_exactly_the_index_the_write_path_built() {
    let signer = crate::attest::in_toto("signer.pub.pem");
    let mut app = TestApp::start_with(|c| c.registry.public_keys.push(signer)).await;
    app.upload_ok(fixture("libmemflow_synthmulti.x86_64.so"), "Added")
        .await;
    let gone = app
        .upload_ok(fixture("libmemflow_synthc.x86_64.so"), "Added")
        .await;
    app.upload_ok(padded_plugin(2), "Added").await;
    assert_eq!(app.delete(&gone, Some(TOKEN)).await.status(), 200);
    app.upload_ok(padded_plugin(3), "Added").await;
    app.upload_ok(fixture("libmemflow_synthc.x86_64.so"), "Added")
        .await;
    let scan = crate::scans::small_scan();
    let (status, body) = crate::scans::post(&app, scan.clone(), &sign(&scan)).await;
    assert_eq!(status, 200, "{body}");
    let link = std::fs::read(crate::attest::in_toto("package.1c656f99.link")).unwrap();
    let (status, body) = crate::attest::submit(&app, link, Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    let (image, _) = crate::efi::signed_image("CN=reindex db");
    let (status, body) = crate::efi::post_image(&app, image).await;
    assert_eq!(status, 200, "{body}");
    let (update, _, _) = crate::efi::db_update();
    let (status, body) = crate::efi::post_vars(&app, update, "db", true).await;
    assert_eq!(status, 200, "{body}");
    // A host, its scan, its baseline, and a scan compared with it (a report).
    let key = crate::hosts::host_key(9);
    let token = crate::hosts::enroll(&app, "web1", &key).await;
    let root = crate::hosts::system();
    let first = crate::hosts::scan_of("web1", root.path());
    let sig = crate::util::sign_with(&key, &first);
    let (status, body) = crate::hosts::submit(&app, first.clone(), &sig, &token).await;
    assert_eq!(status, 200, "{body}");
    let digest = crate::util::sha256_hex(&first);
    let (status, body) = crate::hosts::set_baseline(&app, "web1", &digest, TOKEN).await;
    assert_eq!(status, 200, "{body}");
    std::fs::write(root.path().join("usr/bin/tool"), b"other").unwrap();
    let second = crate::hosts::scan_of("web1", root.path());
    let sig = crate::util::sign_with(&key, &second);
    let (status, body) = crate::hosts::submit(&app, second, &sig, &token).await;
    assert_eq!(status, 200, "{body}");
    // Packages: a version deleted and published again with other bytes.
    crate::packages::publish_ecdsa(&app, "pkg", "1.0.0", b"first".to_vec()).await;
    crate::packages::publish_ecdsa(&app, "pkg", "1.10.0-rc.1", b"rc".to_vec()).await;
    crate::packages::delete(&app, "pkg", "1.0.0").await;
    crate::packages::publish_ecdsa(&app, "pkg", "1.0.0", b"second".to_vec()).await;
    // A published trust policy.
    let root = cairn_sign::PrivateKey::generate(cairn_sign::Algorithm::Ed25519).unwrap();
    let policy = crate::policies::policy(1, &root, &[&root]);
    assert_eq!(
        crate::policies::publish(&app, &policy, Some(TOKEN)).await.0,
        201
    );
    app.stop().await;

    // The registry as the server ran it: PostgreSQL on that tier, else SQLite.
    let mut config = app.registry_config();
    config.database = app.database();
    let registry = Registry::open(config.clone()).await.unwrap();
    let built = registry.index_snapshot().await.unwrap();
    let engine = registry.index_engine();
    drop(registry);
    let rows = |table: &str| {
        let (_, rows) = built.tables.iter().find(|(t, _)| t == table).unwrap();
        rows.len()
    };
    assert_eq!(rows("artifacts"), 4, "{engine}: {built:#?}");
    assert!(rows("variants") >= 4, "{engine}: {built:#?}");
    assert_eq!(rows("scans"), 3, "{engine}: {built:#?}");
    assert_eq!(rows("hosts"), 1, "{engine}: {built:#?}");
    assert_eq!(rows("efi_images"), 1, "{engine}: {built:#?}");
    assert_eq!(rows("efi_vars"), 1, "{engine}: {built:#?}");
    assert_eq!(rows("packages"), 2, "{engine}: {built:#?}");
    assert_eq!(rows("policies"), 1, "{engine}: {built:#?}");
    assert!(rows("search") >= 19, "{engine}: {built:#?}");

    let rebuilt = Registry::reindex(config.clone()).await.unwrap();
    assert_eq!(rebuilt.log().size(), 19);
    let again = rebuilt.index_snapshot().await.unwrap();
    assert_eq!(
        again, built,
        "{engine}: the index rebuilt from the log differs from the write path's"
    );
    drop(rebuilt);
    // The search index alone, rebuilt in one transaction: the same rows again.
    let searched = Registry::reindex_search(config).await.unwrap();
    assert_eq!(
        searched.index_snapshot().await.unwrap(),
        built,
        "{engine}: the search index rebuilt alone differs from the write path's"
    );
}
