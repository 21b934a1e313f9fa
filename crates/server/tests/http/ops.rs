//! Operations: `/ready`, `/metrics`, and a graceful stop that finishes in-flight uploads.

use std::time::Duration;

use futures::StreamExt as _;
use reqwest::multipart::{Form, Part};

use crate::util::{TOKEN, TestApp, padded_plugin, sign};

#[tokio::test]
async fn ready_reports_each_dependency() {
    let app = TestApp::start().await;
    let r = app.get("/ready").await;
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"database": true, "store": true, "log": true, "index_current": true, "log_leader": body["log_leader"]})
    );
    // The store stops taking writes: not ready, and it says which.
    app.break_store().await;
    let r = app.get("/ready").await;
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["store"], false);
    assert_eq!(body["database"], true);
    // Liveness is another question: the process still answers.
    assert_eq!(app.get("/health").await.status(), 200);
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

#[tokio::test]
async fn metrics_count_requests_bytes_and_sequencing() {
    let app = TestApp::start().await;
    let bytes = padded_plugin(10_000);
    let size = bytes.len() as f64;
    app.upload_ok(bytes, "Added").await;
    app.get("/plugins").await;
    app.get("/files/00/metadata").await;
    let r = app.get("/metrics").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = r.text().await.unwrap();
    assert_eq!(metric(&text, "cairn_upload_bytes_total"), size);
    assert_eq!(
        metric(
            &text,
            "cairn_http_requests_total{method=\"POST\",route=\"/files\",status=\"200\"}"
        ),
        1.0
    );
    assert_eq!(
        metric(
            &text,
            "cairn_http_requests_total{method=\"GET\",route=\"/plugins\",status=\"200\"}"
        ),
        1.0
    );
    // Routes, not raw paths: a bad digest is counted under its pattern.
    assert_eq!(
        metric(
            &text,
            "cairn_http_requests_total{method=\"GET\",route=\"/files/{digest}/metadata\",status=\"400\"}"
        ),
        1.0
    );
    assert_eq!(metric(&text, "cairn_log_sequencing_seconds_count"), 1.0);
    assert!(metric(&text, "cairn_log_sequencing_seconds_sum") > 0.0);
    assert_eq!(metric(&text, "cairn_log_queue_depth"), 0.0);
    assert_eq!(metric(&text, "cairn_log_entries"), 1.0);
}

#[tokio::test]
async fn a_graceful_stop_finishes_the_upload_in_flight() {
    let mut app = TestApp::start().await;
    let bytes = padded_plugin(3 << 20);
    let signature = sign(&bytes);
    // The body trickles in: 16 chunks, 50 ms apart.
    let chunks: Vec<Vec<u8>> = bytes
        .chunks(bytes.len() / 16 + 1)
        .map(<[u8]>::to_vec)
        .collect();
    let stream = futures::stream::iter(chunks).then(|c| async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok::<_, std::io::Error>(c)
    });
    let form = Form::new()
        .part(
            "file",
            Part::stream_with_length(reqwest::Body::wrap_stream(stream), bytes.len() as u64)
                .file_name("plugin.so"),
        )
        .text("signature", signature);
    let request = app
        .client
        .post(app.url("/files"))
        .bearer_auth(TOKEN)
        .multipart(form)
        .send();
    let upload = tokio::spawn(request);
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Stop while the body is still arriving: the answer must still be "Added".
    app.stop().await;
    let r = upload.await.unwrap().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "\"Added\"");
    app.launch().await;
    let digest = crate::util::sha256_hex(&bytes);
    assert_eq!(
        app.get(&format!("/files/{digest}/metadata")).await.status(),
        200
    );
}
