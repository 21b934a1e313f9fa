//! `cairn log verify` on a directory and over HTTP.

use cairn_tlog::{DirStore, LogWriter, NoteSigner};

use crate::util::cairn;

fn make_log(dir: &std::path::Path) -> (String, String) {
    let signer = NoteSigner::from_seed("cli.test/log", &[3; 32]).unwrap();
    let key = signer.verifier().to_string();
    let mut log = LogWriter::open(DirStore::open(dir).unwrap(), signer).unwrap();
    let early = log
        .append(&[b"one".to_vec(), b"two".to_vec()])
        .unwrap()
        .checkpoint;
    log.append(
        &(0..300)
            .map(|i| format!("entry {i}").into_bytes())
            .collect::<Vec<_>>(),
    )
    .unwrap();
    (key, early)
}

#[test]
fn verifies_a_directory_and_catches_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let (key, early) = make_log(&log);
    let since = dir.path().join("early.checkpoint");
    std::fs::write(&since, early).unwrap();
    let saved = dir.path().join("saved");
    let out = cairn()
        .args(["log", "verify", "--tiles"])
        .arg(&log)
        .args(["--key", &key, "--since"])
        .arg(&since)
        .arg("--save")
        .arg(&saved)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("log OK: 302 entries"));
    assert_eq!(
        std::fs::read(&saved).unwrap(),
        std::fs::read(log.join("checkpoint")).unwrap()
    );

    let bundle = log.join("tile/entries/000");
    let mut bytes = std::fs::read(&bundle).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&bundle, &bytes).unwrap();
    let out = cairn()
        .args(["log", "verify", "--tiles"])
        .arg(&log)
        .args(["--key", &key])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("FAILED verification"), "{err}");

    let out = cairn()
        .args(["log", "verify", "--tiles"])
        .arg(&log)
        .args(["--key", "garbage"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn verifies_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = make_log(dir.path());
    let app = axum::Router::new().fallback_service(tower_http::services::ServeDir::new(dir.path()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let out = tokio::task::spawn_blocking(move || {
        cairn()
            .args(["log", "verify", "--tiles", &url, "--key", &key])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("302 entries"));
}

/// `cairn log key` prints the key the server announced; `cairn admin reindex` rebuilds the
/// index of a stopped server from its log.
#[tokio::test]
async fn log_key_and_admin_reindex() {
    use crate::util::{Served, fixture, pub_key, serve_args, upload};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args = serve_args(&data, "t", &pub_key());
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.extend(["--log-origin", "cli.test/log"]);
    let served = Served::start(cairn(), &args);
    let client = reqwest::Client::new();
    assert_eq!(
        upload(
            &client,
            &served.url,
            "t",
            fixture("libmemflow_synthc.x86_64.so")
        )
        .await
        .unwrap()
        .0,
        200
    );
    let announced = served
        .stderr_text()
        .lines()
        .skip_while(|l| !l.contains("verifier key"))
        .nth(1)
        .unwrap()
        .to_owned();
    let listing = client
        .get(format!("{}/plugins/synthc", served.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // A pushed scan is in the log too, so the rebuilt index lists it again.
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    let scan_file = dir.path().join("s.jsonl");
    assert!(
        cairn()
            .arg("scan")
            .arg(&tree)
            .arg("--out")
            .arg(&scan_file)
            .status()
            .unwrap()
            .success()
    );
    let key = crate::util::fixtures().join("test-keys/fixture-test-priv-key.pem");
    let pushed = cairn()
        .args(["scan", "push"])
        .arg(&scan_file)
        .args(["--registry", &served.url, "--token", "t", "--key"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        pushed.status.success(),
        "{}",
        String::from_utf8_lossy(&pushed.stderr)
    );
    let scans = client
        .get(format!("{}/scans", served.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    served.kill9();

    let out = cairn()
        .args(["log", "key", "--data"])
        .arg(&data)
        .args(["--log-origin", "cli.test/log"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), announced);
    assert!(announced.starts_with("cli.test/log+"));

    std::fs::remove_file(data.join("index.db")).unwrap();
    let out = cairn()
        .args(["admin", "reindex", "--data"])
        .arg(&data)
        .args(["--log-origin", "cli.test/log"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("from 2 log entries"));
    let again = Served::start(cairn(), &args);
    let rebuilt = client
        .get(format!("{}/plugins/synthc", again.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(rebuilt, listing);
    let rebuilt_scans = client
        .get(format!("{}/scans", again.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(rebuilt_scans, scans);
    let out = cairn()
        .args(["admin", "reindex", "--data"])
        .arg(dir.path().join("empty"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
