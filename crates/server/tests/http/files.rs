//! `/files/{digest}`: download, ranges, HEAD, metadata, delete, restart, hostile digests.

use crate::util::{TOKEN, TestApp, fixture, padded_plugin, sha256_hex};

#[tokio::test]
async fn download_serves_exact_bytes_with_etag_length_and_ranges() {
    let app = TestApp::start().await;
    let bytes = fixture("libmemflow_synthc.x86_64.so");
    let digest = app.upload_ok(bytes.clone(), "Added").await;
    let path = format!("/files/{digest}");

    let r = app.get(&path).await;
    assert_eq!(r.status(), 200);
    let etag = format!("\"{digest}\"");
    assert_eq!(r.headers()["etag"], etag.as_str());
    assert_eq!(
        r.headers()["content-length"],
        bytes.len().to_string().as_str()
    );
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert_eq!(r.headers()["accept-ranges"], "bytes");
    assert_eq!(r.bytes().await.unwrap().as_ref(), &bytes[..]);

    let head = app.client.head(app.url(&path)).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.headers()["content-length"],
        bytes.len().to_string().as_str()
    );
    assert_eq!(head.headers()["etag"], etag.as_str());
    assert!(head.bytes().await.unwrap().is_empty());

    let ranged = |range: &'static str| app.client.get(app.url(&path)).header("range", range).send();
    let r = ranged("bytes=0-3").await.unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes 0-3/{}", bytes.len()).as_str()
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"\x7fELF");
    let r = ranged("bytes=-16").await.unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.bytes().await.unwrap().as_ref(),
        &bytes[bytes.len() - 16..]
    );
    let r = ranged("bytes=100-").await.unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), &bytes[100..]);
    let r = ranged("bytes=999999-").await.unwrap();
    assert_eq!(r.status(), 416);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes */{}", bytes.len()).as_str()
    );

    let r = app
        .client
        .get(app.url(&path))
        .header("if-none-match", etag.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    // If-Range with another validator: the range is ignored and everything is sent.
    let r = app
        .client
        .get(app.url(&path))
        .header("range", "bytes=0-3")
        .header("if-range", "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().len(), bytes.len());
}

#[tokio::test]
async fn hostile_and_unknown_digests() {
    let app = TestApp::start().await;
    let digest = app
        .upload_ok(fixture("libmemflow_synthc.x86_64.so"), "Added")
        .await;
    let unknown = "0".repeat(64);
    for (path, status) in [
        (format!("/files/{unknown}"), 404),
        (format!("/files/{unknown}/metadata"), 404),
        ("/files/..%2F..%2F..%2Fetc%2Fpasswd".into(), 400),
        ("/files/..%2Findex.db".into(), 400),
        ("/files/%2Fetc%2Fpasswd/metadata".into(), 400),
        (format!("/files/{}", digest.to_uppercase()), 400),
        (format!("/files/{}", &digest[..63]), 400),
        (format!("/files/{digest}0"), 400),
        ("/files/%C3%A9".into(), 400),
        ("/files/../../etc/passwd".into(), 404),
    ] {
        let r = app.get(&path).await;
        assert_eq!(r.status(), status, "{path}");
    }
    let r = app.delete(&unknown, Some(TOKEN)).await;
    assert_eq!(r.status(), 404);
    // A traversal toward a file of the data directory deletes nothing.
    std::fs::write(app.data_dir().join("canary"), b"x").unwrap();
    let r = app.delete("..%2Fcanary", Some(TOKEN)).await;
    assert_eq!(r.status(), 400);
    assert!(app.data_dir().join("canary").exists());
    let r = app.delete("..%2Findex.db", Some(TOKEN)).await;
    assert_eq!(r.status(), 400);
    if !cairn_testkit::pg::wanted() {
        assert!(app.data_dir().join("index.db").exists());
    }
}

#[tokio::test]
async fn delete_removes_everything_and_survives_restart() {
    let mut app = TestApp::start().await;
    let multi = app
        .upload_ok(fixture("libmemflow_synthmulti.x86_64.so"), "Added")
        .await;
    let keep = app
        .upload_ok(fixture("libmemflow_synthc.x86_64.so"), "Added")
        .await;
    assert!(app.blob_exists(&multi).await);

    assert_eq!(app.delete(&multi, None).await.status(), 401);
    assert_eq!(app.delete(&multi, Some("wrong")).await.status(), 401);
    let r = app.delete(&multi, Some(TOKEN)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "");
    assert!(!app.blob_exists(&multi).await, "blob left in the store");
    assert_eq!(app.get(&format!("/files/{multi}")).await.status(), 404);
    assert_eq!(
        app.get(&format!("/files/{multi}/metadata")).await.status(),
        404
    );
    let names: Vec<String> = app.get_json("/plugins").await["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        vec!["synthc"],
        "both descriptors of the deleted file are gone"
    );
    assert_eq!(app.delete(&multi, Some(TOKEN)).await.status(), 404);

    app.restart().await;
    assert_eq!(
        app.get(&format!("/files/{multi}/metadata")).await.status(),
        404,
        "deleted plugin resurrected"
    );
    assert_eq!(
        app.get_json("/plugins/synthmulti").await["plugins"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        app.get_json(&format!("/files/{keep}/metadata")).await["digest"],
        keep.as_str()
    );
    assert_eq!(
        sha256_hex(
            &app.get(&format!("/files/{keep}"))
                .await
                .bytes()
                .await
                .unwrap()
        ),
        keep
    );
    // Uploading again after a delete is a fresh "Added".
    app.upload_ok(fixture("libmemflow_synthmulti.x86_64.so"), "Added")
        .await;
}

#[tokio::test]
async fn restart_keeps_every_upload() {
    let mut app = TestApp::start().await;
    let mut digests = Vec::new();
    for i in 0..20 {
        digests.push(app.upload_ok(padded_plugin(i * 7 + 1), "Added").await);
    }
    app.restart().await;
    for d in &digests {
        let r = app.get(&format!("/files/{d}")).await;
        assert_eq!(r.status(), 200);
        assert_eq!(&sha256_hex(&r.bytes().await.unwrap()), d);
    }
    let staging = std::fs::read_dir(app.data_dir().join("staging"))
        .unwrap()
        .count();
    assert_eq!(staging, 0, "staging files left behind");
}

/// A stored blob whose bytes no longer hash to its name is not served whole under its
/// digest's ETag: the body is cut short (so no cache keeps it), while a range is served.
#[tokio::test]
async fn a_corrupted_blob_is_never_served_whole() {
    use futures::StreamExt as _;
    let app = crate::util::TestApp::start().await;
    let bytes = crate::util::padded_plugin(200_000);
    let digest = app.upload_ok(bytes.clone(), "Added").await;
    app.corrupt_blob(&digest, 150_000).await;
    let r = app.get(&format!("/files/{digest}")).await;
    assert_eq!(r.status(), 200);
    let mut body = r.bytes_stream();
    let mut got = 0usize;
    let mut failed = false;
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(c) => got += c.len(),
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(failed, "the corrupt blob was served to the end");
    assert!(got < bytes.len(), "all {got} bytes were delivered");
}
