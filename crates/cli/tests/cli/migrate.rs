//! `cairn admin migrate`: an embedded installation moved to PostgreSQL + S3 serves the same
//! listings, bytes, attestations and log, and its log goes on growing from there.

use crate::util::{
    Served, cairn, fixtures, ok, plugin, pub_key, serve_args, sha256_hex, shared_storage_args,
    upload,
};

const TOKEN: &str = "migrate-token";

async fn text(url: &str) -> String {
    let r = reqwest::get(url).await.unwrap();
    assert_eq!(r.status(), 200, "GET {url}");
    r.text().await.unwrap()
}

/// What a client sees of a registry: listings, metadata, bytes, attestation, checkpoint.
async fn snapshot(url: &str, digests: &[String], attestation: &str) -> Vec<String> {
    let mut seen = vec![
        text(&format!("{url}/plugins")).await,
        text(&format!("{url}/plugins/synthc?limit=50")).await,
        text(&format!("{url}/log/checkpoint")).await,
        text(&format!("{url}/attestations/{attestation}")).await,
    ];
    for d in digests {
        seen.push(text(&format!("{url}/files/{d}/metadata")).await);
        let bytes = reqwest::get(format!("{url}/files/{d}"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        seen.push(sha256_hex(&bytes));
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_populated_embedded_registry_moves_to_postgres_and_s3() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("embedded");
    let in_toto = fixtures().join("../in-toto");
    let key = pub_key();
    let mut args = serve_args(&data, TOKEN, &key);
    args.extend([
        "--public-key".into(),
        in_toto.join("signer.pub.pem").display().to_string(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let embedded = Served::start(cairn(), &args);
    let client = reqwest::Client::new();
    let mut digests = Vec::new();
    // A small plugin, one large enough for a multipart upload, and one deleted again.
    for (size, tag) in [(30_000, 1), (9 << 20, 2), (30_000, 3)] {
        let bytes = plugin(size, tag);
        digests.push(sha256_hex(&bytes));
        let answer = upload(&client, &embedded.url, TOKEN, bytes).await.unwrap();
        assert_eq!(answer, (200, "\"Added\"".to_owned()));
    }
    let gone = digests.pop().unwrap();
    let r = client
        .delete(format!("{}/files/{gone}", embedded.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let link = std::fs::read(in_toto.join("package.1c656f99.link")).unwrap();
    let answer: serde_json::Value = client
        .post(format!("{}/log/entries", embedded.url))
        .bearer_auth(TOKEN)
        .body(link)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let attestation = answer["digest"].as_str().unwrap().to_owned();
    let before = snapshot(&embedded.url, &digests, &attestation).await;
    embedded.kill9();

    let database = cairn_testkit::pg::database_url().await;
    let bucket = cairn_testkit::s3::bucket().await;
    let migrate = || {
        let mut cmd = cairn();
        cmd.envs(cairn_testkit::s3::CREDENTIALS)
            .args(["admin", "migrate", "--from"])
            .arg(&data)
            .args(["--to-database", &database])
            .args(["--to-object-store", &bucket.url])
            .args(["--s3-endpoint", &bucket.endpoint]);
        cmd
    };
    let out = ok(&mut migrate());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("migrated 2 blobs") && said.contains("1 attestations"),
        "{said}"
    );
    assert!(said.contains("5 log entries"), "{said}");
    // Into a registry that is no longer empty: a clear refusal, nothing changed.
    let again = migrate().output().unwrap();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already holds a registry"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    let log_key = data.join("keys/log.pem");
    let scaled_data = dir.path().join("scaled");
    let mut args = serve_args(&scaled_data, TOKEN, &key);
    args.extend([
        "--public-key".into(),
        in_toto.join("signer.pub.pem").display().to_string(),
        "--log-key".into(),
        log_key.display().to_string(),
    ]);
    args.extend(shared_storage_args(&database, &bucket));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = cairn();
    cmd.envs(cairn_testkit::s3::CREDENTIALS);
    let scaled = Served::start(cmd, &args);
    let after = snapshot(&scaled.url, &digests, &attestation).await;
    assert_eq!(after, before, "the moved registry serves something else");
    let r = reqwest::get(format!("{}/files/{gone}", scaled.url))
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "a deleted plugin came back");

    // The log goes on from the moved checkpoint, and extends it.
    let bytes = plugin(30_000, 4);
    let answer = upload(&client, &scaled.url, TOKEN, bytes).await.unwrap();
    assert_eq!(answer, (200, "\"Added\"".to_owned()));
    let since = dir.path().join("before.checkpoint");
    std::fs::write(&since, &before[2]).unwrap();
    let verifier =
        String::from_utf8(ok(cairn().args(["log", "key", "--log-key"]).arg(&log_key)).stdout)
            .unwrap();
    let out = ok(cairn()
        .args(["log", "verify", "--tiles", &format!("{}/log", scaled.url)])
        .args(["--key", verifier.trim()])
        .arg("--since")
        .arg(&since));
    assert!(String::from_utf8_lossy(&out.stdout).contains("log OK: 6 entries"));
}
