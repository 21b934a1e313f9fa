//! Two instances on one PostgreSQL database and one bucket: a write through one invalidates
//! the other's cached listings (LISTEN/NOTIFY), its bytes download through the other, both
//! serve the one shared log. Always on PostgreSQL and S3 (moto): SQLite and a data directory
//! cannot be shared.

use std::time::{Duration, Instant};

use cairn_server::ServerConfig;

use crate::util::{TestApp, padded_plugin, sha256_hex};

async fn checkpoint(app: &TestApp) -> String {
    app.get("/log/checkpoint").await.text().await.unwrap()
}

async fn names(app: &TestApp) -> serde_json::Value {
    app.get_json("/plugins").await["plugins"].clone()
}

#[tokio::test]
async fn a_write_through_one_instance_shows_in_the_others_listings() {
    let url = cairn_testkit::pg::database_url().await;
    cairn_testkit::s3::assert_credentials_in_env();
    let bucket = cairn_testkit::s3::bucket().await;
    let shared = |c: &mut ServerConfig| {
        c.registry.database = Some(url.clone());
        c.registry.object_store = Some(bucket.url.clone());
        c.registry.s3_endpoint = Some(bucket.endpoint.clone());
    };
    let a = TestApp::start_with(shared).await;
    let key = a.data_dir().join("keys/log.pem");
    let b = TestApp::start_with(|c| {
        shared(c);
        c.registry.log.key = Some(key.clone());
    })
    .await;
    // A third instance with a log key of its own is refused: one log, one key.
    let mut other = ServerConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        a.data_dir().with_file_name("other"),
    );
    shared(&mut other);
    let refused = cairn_server::Server::bind(other).await.err().unwrap();
    assert!(refused.to_string().contains("same --log-key"), "{refused}");
    // B answers (and caches) the empty listings first.
    assert_eq!(names(&b).await, serde_json::json!([]));
    assert_eq!(
        b.get_json("/plugins/synthc").await["plugins"],
        serde_json::json!([])
    );

    let digest = a.upload_ok(padded_plugin(77), "Added").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let listed = b.get_json("/plugins/synthc").await["plugins"].clone();
        if listed.as_array().is_some_and(|l| l.len() == 1) {
            assert_eq!(listed[0]["digest"], digest.as_str());
            break;
        }
        assert!(
            Instant::now() < deadline,
            "instance B still serves a stale listing"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(names(&b).await[0]["name"], "synthc");
    // B serves A's bytes from the shared bucket, and the same log.
    let bytes = b
        .get(&format!("/files/{digest}"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(sha256_hex(&bytes), digest);
    let deadline = Instant::now() + Duration::from_secs(5);
    while checkpoint(&a).await != checkpoint(&b).await {
        assert!(
            Instant::now() < deadline,
            "the instances serve different logs"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The same upload through B is a duplicate: one index.
    b.upload_ok(padded_plugin(77), "AlreadyExists").await;
    // And a delete through A empties B's listing again.
    assert_eq!(
        a.delete(&digest, Some(crate::util::TOKEN)).await.status(),
        200
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while names(&b).await != serde_json::json!([]) {
        assert!(
            Instant::now() < deadline,
            "instance B still lists a deleted plugin"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// With no instance able to lead (another session holds the leader lock), a write is still
/// recorded, durably, and answered 503 saying so; once the lock is free the instance takes
/// over, publishes it, and a retry is a duplicate.
#[tokio::test]
async fn without_a_leader_writes_are_recorded_then_published_on_takeover() {
    use sqlx::Connection as _;
    let url = cairn_testkit::pg::database_url().await;
    cairn_testkit::s3::assert_credentials_in_env();
    let bucket = cairn_testkit::s3::bucket().await;
    let mut usurper = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query("SELECT pg_advisory_lock(x'636169726e'::bigint)")
        .execute(&mut usurper)
        .await
        .unwrap();
    let app = TestApp::start_with(|c| {
        c.registry.database = Some(url.clone());
        c.registry.object_store = Some(bucket.url.clone());
        c.registry.s3_endpoint = Some(bucket.endpoint.clone());
        c.registry.log_wait = Duration::from_secs(1);
    })
    .await;
    let bytes = padded_plugin(5);
    let digest = sha256_hex(&bytes);
    let r = app.upload(bytes.clone(), &crate::util::sign(&bytes)).await;
    assert_eq!(r.status(), 503);
    let said = r.text().await.unwrap();
    assert!(said.contains("recorded as log entry 0"), "{said}");
    assert_eq!(checkpoint(&app).await.lines().nth(1), Some("0"));
    // The leader's session ends: the instance takes over and publishes the entry.
    usurper.close().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while checkpoint(&app).await.lines().nth(1) != Some("1") {
        assert!(Instant::now() < deadline, "nobody took over the log");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let meta = app.get_json(&format!("/files/{digest}/metadata")).await;
    assert_eq!(meta["log_index"], 0);
    assert_eq!(
        app.get(&format!("/files/{digest}/proof")).await.status(),
        200
    );
    app.upload_ok(bytes, "AlreadyExists").await;
}
