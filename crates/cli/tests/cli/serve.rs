//! `cairn serve` configuration: flags, CAIRN_*, MEMFLOW_*, the generated token.

use std::os::unix::fs::PermissionsExt;

use crate::util::{Served, cairn, fixture, pub_key, upload};

/// memflow-registry's variable names configure the server unchanged.
#[tokio::test]
async fn memflow_environment_variables_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("storage");
    let mut cmd = cairn();
    cmd.env("MEMFLOW_ADDR", "127.0.0.1:0")
        .env("MEMFLOW_STORAGE_ROOT", &root)
        .env("MEMFLOW_BEARER_TOKEN", "memflow-token")
        .env("MEMFLOW_PUBLIC_KEY_FILE", pub_key());
    let served = Served::start(cmd, &[]);
    let client = reqwest::Client::new();
    let bytes = fixture("libmemflow_synthc.x86_64.so");
    let (status, _) = upload(&client, &served.url, "other", bytes.clone())
        .await
        .unwrap();
    assert_eq!(status, 401);
    assert_eq!(
        upload(&client, &served.url, "memflow-token", bytes)
            .await
            .unwrap(),
        (200, "\"Added\"".into())
    );
    assert!(
        root.join("index.db").exists(),
        "MEMFLOW_STORAGE_ROOT not used"
    );
    assert!(served.stderr_text().contains("trusting signing key"));
}

/// Flags beat CAIRN_* variables, which beat MEMFLOW_* variables.
#[tokio::test]
async fn precedence_is_flag_then_cairn_then_memflow() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = cairn();
    cmd.env("MEMFLOW_STORAGE_ROOT", dir.path().join("memflow"))
        .env("CAIRN_DATA", dir.path().join("cairn"))
        .env("MEMFLOW_BEARER_TOKEN", "memflow-token")
        .env("CAIRN_TOKEN", "cairn-token")
        .env("CAIRN_ADDR", "127.0.0.1:0");
    let flag_dir = dir.path().join("flag");
    let served = Served::start(cmd, &["--data", flag_dir.to_str().unwrap()]);
    let client = reqwest::Client::new();
    let bytes = fixture("libmemflow_synthc.x86.so");
    assert_eq!(
        upload(&client, &served.url, "memflow-token", bytes.clone())
            .await
            .unwrap()
            .0,
        401
    );
    assert_eq!(
        upload(&client, &served.url, "cairn-token", bytes)
            .await
            .unwrap()
            .0,
        200
    );
    assert!(flag_dir.join("index.db").exists());
    assert!(!dir.path().join("cairn").exists() && !dir.path().join("memflow").exists());
    assert!(
        served.stderr_text().contains("no public key configured"),
        "unverified mode is announced"
    );
}

/// Writes are never anonymous: without a token one is generated, printed once, kept 0600.
#[tokio::test]
async fn a_token_is_generated_once_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args = ["--addr", "127.0.0.1:0", "--data", data.to_str().unwrap()];
    let served = Served::start(cairn(), &args);
    let text = served.stderr_text();
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("generated write token"))
        .expect(&text);
    let token = lines[at + 1].trim().to_owned();
    assert_eq!(token.len(), 64);
    let stored = std::fs::read_to_string(data.join("token")).unwrap();
    assert_eq!(stored.trim(), token);
    assert_eq!(
        std::fs::metadata(data.join("token"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let client = reqwest::Client::new();
    let bytes = fixture("libmemflow_synthc.x86_64.so");
    assert_eq!(
        upload(&client, &served.url, "", bytes.clone())
            .await
            .unwrap()
            .0,
        401
    );
    assert_eq!(
        upload(&client, &served.url, &token, bytes).await.unwrap().0,
        200
    );
    drop(served);

    let again = Served::start(cairn(), &args);
    let text = again.stderr_text();
    assert!(!text.contains(&token), "token printed a second time");
    assert!(text.contains("write token read from"));
}

#[test]
fn bad_configuration_fails_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing_key = dir.path().join("missing.pem");
    let out = cairn()
        .args(["serve", "--addr", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("d"))
        .arg("--public-key")
        .arg(&missing_key)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("public key") && err.contains("missing.pem"),
        "{err}"
    );

    let out = cairn()
        .env("CAIRN_ADDR", "not-an-address")
        .args(["serve", "--data"])
        .arg(dir.path().join("d"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid listen address"));
}

/// With stderr unwritable (`2>/dev/full`), the server still starts, takes uploads and
/// answers them: a failed log write is never a panic in a request.
#[tokio::test(flavor = "multi_thread")]
async fn serves_with_an_unwritable_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let mut child = crate::util::cairn()
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--token",
            "full-token",
        ])
        .arg("--data")
        .arg(dir.path().join("data"))
        .arg("--public-key")
        .arg(crate::util::pub_key())
        .stdout(std::process::Stdio::null())
        .stderr(full)
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..300 {
        if http.get(format!("{url}/health")).send().await.is_ok() {
            up = true;
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "the server exited");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(up, "the server never answered");
    for i in 0..3 {
        let (status, text) =
            crate::util::upload(&http, &url, "full-token", crate::util::plugin(20_000, i))
                .await
                .unwrap();
        assert_eq!((status, text.as_str()), (200, "\"Added\""));
    }
    let r = http.get(format!("{url}/plugins")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(child.try_wait().unwrap().is_none(), "the server exited");
    child.kill().unwrap();
    child.wait().unwrap();
}
