//! Two instances on one PostgreSQL index: a write through one invalidates the other's
//! cached listings (LISTEN/NOTIFY). Always on PostgreSQL: SQLite cannot be shared.

use std::time::{Duration, Instant};

use crate::util::{TestApp, padded_plugin};

async fn names(app: &TestApp) -> serde_json::Value {
    app.get_json("/plugins").await["plugins"].clone()
}

#[tokio::test]
async fn a_write_through_one_instance_shows_in_the_others_listings() {
    let url = crate::pg::database_url().await;
    let a = TestApp::start_with(|c| c.database = Some(url.clone())).await;
    let b = TestApp::start_with(|c| c.database = Some(url.clone())).await;
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
