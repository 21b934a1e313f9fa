//! `POST /files`: authorisation, signatures, limits and every kind of bad body.

use reqwest::multipart::{Form, Part};

use crate::util::{TOKEN, TestApp, fixture, high_s, padded_plugin, sha256_hex, sign};

async fn status_and_body(r: reqwest::Response) -> (u16, String) {
    (r.status().as_u16(), r.text().await.unwrap())
}

fn staging_is_empty(app: &TestApp) -> bool {
    std::fs::read_dir(app.data_dir().join("staging"))
        .unwrap()
        .count()
        == 0
}

#[tokio::test]
async fn writes_need_the_token() {
    let app = TestApp::start().await;
    let bytes = fixture("libmemflow_synthc.x86_64.so");
    let form = || {
        Form::new()
            .part("file", Part::bytes(bytes.clone()))
            .text("signature", sign(&bytes))
    };
    let post = || app.client.post(app.url("/files"));
    for req in [
        post().multipart(form()),
        post().bearer_auth("nope").multipart(form()),
        post()
            .header("authorization", format!("Basic {TOKEN}"))
            .multipart(form()),
        post().header("authorization", "Bearer").multipart(form()),
        post().header("authorization", TOKEN).multipart(form()),
    ] {
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
    }
    let r = post()
        .header("authorization", format!("bearer {TOKEN}"))
        .multipart(form())
        .send()
        .await
        .unwrap();
    assert_eq!(
        status_and_body(r).await,
        (200, "\"Added\"".into()),
        "scheme is case-insensitive"
    );
}

#[tokio::test]
async fn signatures_are_checked_normalised_and_recorded() {
    let app = TestApp::start().await;
    let bytes = padded_plugin(3);
    let low = sign(&bytes);
    let high = high_s(&low);
    assert_ne!(low, high);
    // High-S (half of what openssl writes) is accepted and stored low-S, in lowercase.
    assert_eq!(
        status_and_body(app.upload(bytes.clone(), &high.to_uppercase()).await).await,
        (200, "\"Added\"".into())
    );
    let meta = app
        .get_json(&format!("/files/{}/metadata", sha256_hex(&bytes)))
        .await;
    assert_eq!(meta["signature"], low.as_str());
    assert_eq!(meta["verified"], true);
    assert_eq!(meta["key_id"].as_str().unwrap().len(), 64);

    // A signature by another key, over other bytes, or not a signature at all.
    let stranger = k256::ecdsa::SigningKey::from_slice(&[42u8; 32]).unwrap();
    let other = padded_plugin(4);
    for (sig, expect) in [
        (
            crate::util::sign_with(&stranger, &other),
            "no trusted key verifies it",
        ),
        (sign(&bytes), "no trusted key verifies it"),
        ("not hex".into(), "not hex-encoded"),
        ("éé".into(), "not hex-encoded"),
        ("".into(), "not hex-encoded"),
        ("30060201010201".into(), "not a DER-encoded"),
    ] {
        let (status, body) = status_and_body(app.upload(other.clone(), &sig).await).await;
        assert_eq!(status, 400, "{sig}");
        assert!(body.contains(expect), "{sig}: {body}");
    }
    assert_eq!(
        app.get(&format!("/files/{}/metadata", sha256_hex(&other)))
            .await
            .status(),
        404
    );
    assert!(staging_is_empty(&app));
}

/// Without configured keys a well-formed signature is stored, marked unverified.
#[tokio::test]
async fn without_keys_signatures_are_stored_unverified() {
    let app = TestApp::start_with(|c| c.registry.public_keys.clear()).await;
    let bytes = padded_plugin(5);
    let stranger = k256::ecdsa::SigningKey::from_slice(&[42u8; 32]).unwrap();
    let sig = crate::util::sign_with(&stranger, &bytes);
    assert_eq!(
        status_and_body(app.upload(bytes.clone(), &sig).await).await,
        (200, "\"Added\"".into())
    );
    let variant = &app.get_json("/plugins/synthc").await["plugins"][0];
    assert_eq!(variant["verified"], false);
    assert!(variant["key_id"].is_null());
    let (status, _) = status_and_body(app.upload(padded_plugin(6), "garbage").await).await;
    assert_eq!(status, 400, "a signature is still required to be one");
}

/// A DOS header and nothing else: claims to be PE, is not.
fn mz_garbage() -> Vec<u8> {
    let mut b = b"MZ".to_vec();
    b.resize(128, 0);
    b
}

#[tokio::test]
async fn malformed_forms_are_refused_and_leave_nothing() {
    let app = TestApp::start().await;
    let bytes = fixture("libmemflow_synthc.x86_64.so");
    let sig = sign(&bytes);
    let post = |form: Form| {
        app.client
            .post(app.url("/files"))
            .bearer_auth(TOKEN)
            .multipart(form)
            .send()
    };
    let cases: Vec<(Form, &str)> = vec![
        (
            Form::new().text("signature", sig.clone()),
            "file is required",
        ),
        (
            Form::new().part("file", Part::bytes(bytes.clone())),
            "file signature is required",
        ),
        (
            Form::new()
                .part("file", Part::bytes(bytes.clone()))
                .text("signature", sig.clone())
                .text("extra", "x"),
            "unexpected field",
        ),
        (
            Form::new()
                .part("file", Part::bytes(bytes.clone()))
                .part("file", Part::bytes(bytes.clone()))
                .text("signature", sig.clone()),
            "appears twice",
        ),
        (
            Form::new()
                .part("file", Part::bytes(bytes.clone()))
                .text("signature", "a".repeat(10_000)),
            "too long",
        ),
        (
            Form::new()
                .part("file", Part::bytes(vec![]))
                .text("signature", sign(&[])),
            "not an ELF, PE or Mach-O",
        ),
        (
            Form::new()
                .part("file", Part::bytes(mz_garbage()))
                .text("signature", sign(&mz_garbage())),
            "malformed binary",
        ),
    ];
    for (form, expect) in cases {
        let (status, body) = status_and_body(post(form).await.unwrap()).await;
        assert_eq!(status, 400, "{expect}: {body}");
        assert!(body.contains(expect), "expected {expect:?} in {body:?}");
    }
    // Not multipart at all, or a multipart body cut short.
    let raw = |ct: &'static str, body: &'static str| {
        app.client
            .post(app.url("/files"))
            .bearer_auth(TOKEN)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    for (ct, body) in [
        ("application/json", "{\"file\": 1}"),
        ("multipart/form-data", "no boundary"),
        (
            "multipart/form-data; boundary=XYZ",
            "--XYZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc",
        ),
        ("multipart/form-data; boundary=XYZ", "garbage"),
    ] {
        let r = raw(ct, body).await.unwrap();
        assert_eq!(r.status(), 400, "{ct}: {body}");
    }
    assert_eq!(
        app.get_json("/plugins").await["plugins"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert!(staging_is_empty(&app));
}

/// Two descriptors of one kind with one name: a clear 400 (the reference panicked).
#[tokio::test]
async fn duplicate_descriptor_names_of_one_kind_are_refused() {
    let app = TestApp::start().await;
    let mut bytes = fixture("libmemflow_synthdup.x86_64.so");
    let from = b"MEMFLOW_OS_SYNTHDUP\0";
    let at = bytes.windows(from.len()).position(|w| w == from).unwrap();
    bytes[at..at + from.len()].copy_from_slice(b"MEMFLOW_CONNECTOR_Z\0");
    let sig = sign(&bytes);
    let (status, body) = status_and_body(app.upload(bytes, &sig).await).await;
    assert_eq!(status, 400);
    assert!(
        body.contains("two connector descriptors are both named \"synthdup\""),
        "{body}"
    );
    // Different kinds sharing a name are fine and listed as two variants.
    app.upload_ok(fixture("libmemflow_synthdup.x86_64.so"), "Added")
        .await;
    let found = app.get_json("/plugins/synthdup").await;
    assert_eq!(found["plugins"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn oversize_uploads_get_413_and_leave_nothing() {
    let app = TestApp::start_with(|c| c.registry.max_upload_bytes = 100_000).await;
    let fits = padded_plugin(100_000 - 15_192);
    assert_eq!(fits.len(), 100_000);
    app.upload_ok(fits, "Added").await;
    let big = padded_plugin(200_000);
    let sig = sign(&big);
    // Declared length over the limit: refused before reading the body.
    let (status, _) = status_and_body(app.upload(big.clone(), &sig).await).await;
    assert_eq!(status, 413);
    // No declared length (chunked): refused while streaming.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.chunks(8192).map(|c| Ok(c.to_vec())).collect();
    let stream = futures::stream::iter(chunks);
    let form = Form::new()
        .part(
            "file",
            Part::stream(reqwest::Body::wrap_stream(stream)).file_name("big.so"),
        )
        .text("signature", sig);
    let r = app
        .client
        .post(app.url("/files"))
        .bearer_auth(TOKEN)
        .multipart(form)
        .send()
        .await;
    if let Ok(r) = r {
        assert_eq!(r.status(), 413);
    } // else: the server closed the connection after answering 413 mid-body, also acceptable
    assert_eq!(
        app.get(&format!("/files/{}/metadata", sha256_hex(&big)))
            .await
            .status(),
        404
    );
    assert!(staging_is_empty(&app));
}

#[tokio::test]
async fn concurrent_uploads_of_the_same_file_add_it_once() {
    let app = TestApp::start().await;
    let bytes = padded_plugin(77);
    let sig = sign(&bytes);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (client, url, bytes, sig) = (
            app.client.clone(),
            app.url("/files"),
            bytes.clone(),
            sig.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let form = Form::new()
                .part("file", Part::bytes(bytes))
                .text("signature", sig);
            client
                .post(url)
                .bearer_auth(TOKEN)
                .multipart(form)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    assert_eq!(
        answers.iter().filter(|a| *a == "\"Added\"").count(),
        1,
        "{answers:?}"
    );
    assert_eq!(
        answers.iter().filter(|a| *a == "\"AlreadyExists\"").count(),
        7
    );
    assert_eq!(
        app.get_json("/plugins/synthc").await["plugins"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
