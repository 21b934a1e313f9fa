//! A server that cannot be held open: idle, silent and slow connections are closed within the
//! configured time, a connection beyond the cap is told so, and an upload at an honest rate
//! still succeeds.

use std::time::{Duration, Instant};

use cairn_server::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::util::{TOKEN, TestApp, padded_plugin, sign};

const LIMITS: Limits = Limits {
    header_timeout: Duration::from_secs(1),
    idle_timeout: Duration::from_secs(2),
    min_body_rate: 20_000,
    body_grace: Duration::from_secs(1),
    max_connections: 4,
};

/// The limits a test waits past: a connection must be gone well within this.
const CLOSED_WITHIN: Duration = Duration::from_secs(6);

async fn app() -> TestApp {
    TestApp::start_with(|c| c.limits = LIMITS).await
}

/// Reads until the server closes the connection (or resets it); what it sent, and when.
async fn until_closed(stream: &mut TcpStream) -> (Vec<u8>, Duration) {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(CLOSED_WITHIN, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (got, start.elapsed()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the connection is still open after {CLOSED_WITHIN:?}"),
        }
    }
}

#[tokio::test]
async fn a_silent_connection_is_closed() {
    let app = app().await;
    let mut s = TcpStream::connect(app.addr).await.unwrap();
    let (_, took) = until_closed(&mut s).await;
    assert!(
        took >= Duration::from_millis(900),
        "closed too early: {took:?}"
    );
}

#[tokio::test]
async fn headers_sent_a_byte_a_second_are_cut_off() {
    let app = app().await;
    let mut s = TcpStream::connect(app.addr).await.unwrap();
    let request = b"GET /health HTTP/1.1\r\nHost: x\r\nUser-Agent: slowloris\r\n\r\n";
    let start = Instant::now();
    let mut closed = false;
    for b in request {
        if s.write_all(&[*b]).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        if start.elapsed() > CLOSED_WITHIN {
            break;
        }
    }
    if !closed {
        let (got, _) = until_closed(&mut s).await;
        assert!(
            !String::from_utf8_lossy(&got).contains("200 OK"),
            "the slow request was answered"
        );
    }
    assert!(
        start.elapsed() < CLOSED_WITHIN,
        "took {:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_its_answer() {
    let app = app().await;
    let mut s = TcpStream::connect(app.addr).await.unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (got, took) = until_closed(&mut s).await;
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));
    assert!(
        took >= Duration::from_millis(900),
        "closed too early: {took:?}"
    );
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed() {
    let app = app().await;
    let mut s = TcpStream::connect(app.addr).await.unwrap();
    // The h2c preface and an empty SETTINGS frame, then nothing.
    s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    let (got, took) = until_closed(&mut s).await;
    assert!(!got.is_empty(), "the server speaks HTTP/2 (its SETTINGS)");
    assert!(
        took >= Duration::from_millis(1900),
        "closed too early: {took:?}"
    );
}

fn multipart(bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "cairnslowboundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"signature\"\r\n\r\n{}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.so\"\r\nContent-Type: application/octet-stream\r\n\r\n",
        sign(bytes)
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (boundary.into(), body)
}

/// Sends an upload at `rate` bytes per second; the server's answer.
async fn upload_at(app: &TestApp, bytes: &[u8], rate: usize) -> String {
    let (boundary, body) = multipart(bytes);
    let mut s = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let (mut read, mut write) = s.into_split();
    let reader = tokio::spawn(async move {
        let mut got = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(30), read.read_to_end(&mut got)).await;
        got
    });
    // Write until the body is sent or the server has answered (and closed).
    let chunk = (rate / 10).max(1);
    for part in body.chunks(chunk) {
        if reader.is_finished() || write.write_all(part).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    String::from_utf8_lossy(&reader.await.unwrap()).into_owned()
}

#[tokio::test]
async fn a_slow_upload_body_is_refused_and_an_honest_one_succeeds() {
    let app = app().await;
    // 3 bytes a second: answered 408 once the grace second is over, not held open.
    let start = Instant::now();
    let answer = upload_at(&app, &padded_plugin(1), 3).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("slower than 20000 bytes/s"), "{answer}");
    assert!(
        start.elapsed() < CLOSED_WITHIN,
        "took {:?}",
        start.elapsed()
    );
    // 200 KB at 100 KB/s (five times the minimum) takes two seconds, longer than every
    // timeout, and succeeds.
    let answer = upload_at(&app, &padded_plugin(200_000), 100_000).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("Added"), "{answer}");
}

#[tokio::test]
async fn connections_beyond_the_cap_are_told_and_closed() {
    let app = app().await;
    let mut held = Vec::new();
    for _ in 0..LIMITS.max_connections {
        held.push(TcpStream::connect(app.addr).await.unwrap());
    }
    // Give the server a moment to accept them all.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = TcpStream::connect(app.addr).await.unwrap();
    extra
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (got, _) = until_closed(&mut extra).await;
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(text.contains("too many connections"), "{text}");
    // Once the held connections go, the server answers again.
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = app.get("/health").await;
    assert_eq!(r.status(), 200);
}
