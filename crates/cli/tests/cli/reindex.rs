//! `cairn admin reindex` on PostgreSQL + S3: the shared index, damaged, rebuilt from the
//! log alone serves what it served before.

use crate::util::{
    Served, cairn, ok, plugin, pub_key, serve_args, sha256_hex, shared_storage_args, upload,
};

const TOKEN: &str = "reindex-token";

async fn text(url: &str) -> String {
    reqwest::get(url).await.unwrap().text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_reindex_rebuilds_a_shared_index_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let database = cairn_testkit::pg::database_url().await;
    let bucket = cairn_testkit::s3::bucket().await;
    let key = pub_key();
    let mut args = serve_args(&data, TOKEN, &key);
    args.extend(shared_storage_args(&database, &bucket));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let start = || {
        let mut cmd = cairn();
        cmd.envs(cairn_testkit::s3::CREDENTIALS);
        Served::start(cmd, &args)
    };
    let served = start();
    let client = reqwest::Client::new();
    let mut digests = Vec::new();
    for tag in 1..=3 {
        let bytes = plugin(30_000, tag);
        digests.push(sha256_hex(&bytes));
        let answer = upload(&client, &served.url, TOKEN, bytes).await.unwrap();
        assert_eq!(answer, (200, "\"Added\"".to_owned()));
    }
    let r = client
        .delete(format!("{}/files/{}", served.url, digests[2]))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let listing = text(&format!("{}/plugins", served.url)).await;
    let meta = text(&format!("{}/files/{}/metadata", served.url, digests[0])).await;
    drop(served);

    // The index loses a row behind the registry's back.
    let pool = sqlx::PgPool::connect(&database).await.unwrap();
    sqlx::query("DELETE FROM variants WHERE digest = $1")
        .bind(&digests[0])
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM artifacts WHERE digest = $1")
        .bind(&digests[0])
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let out = ok(cairn()
        .envs(cairn_testkit::s3::CREDENTIALS)
        .args(["admin", "reindex", "--data"])
        .arg(&data)
        .args(shared_storage_args(&database, &bucket)));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("index rebuilt from 4 log entries"), "{said}");
    // The search index alone, rows lost behind the registry's back too.
    let pool = sqlx::PgPool::connect(&database).await.unwrap();
    let rows = |pool: sqlx::PgPool| async move {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM search")
            .fetch_one(&pool)
            .await
            .unwrap();
        n
    };
    let before = rows(pool.clone()).await;
    sqlx::query("DELETE FROM search WHERE log_index = 0")
        .execute(&pool)
        .await
        .unwrap();
    let out = ok(cairn()
        .envs(cairn_testkit::s3::CREDENTIALS)
        .args(["admin", "reindex", "--search", "--data"])
        .arg(&data)
        .args(shared_storage_args(&database, &bucket)));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("search index rebuilt from 4 log entries"),
        "{said}"
    );
    assert_eq!(rows(pool.clone()).await, before);
    pool.close().await;

    let served = start();
    assert_eq!(text(&format!("{}/plugins", served.url)).await, listing);
    assert_eq!(
        text(&format!("{}/files/{}/metadata", served.url, digests[0])).await,
        meta,
        "the row deleted behind the registry's back is back, as the log has it"
    );
    let r = reqwest::get(format!("{}/files/{}/metadata", served.url, digests[2]))
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "a deleted plugin came back");
}
