//! `GET /plugins` and `GET /plugins/{name}`: filters, order, pagination, bad queries.

use serde_json::Value;

use crate::util::{TestApp, fixture, padded_plugin};

fn digests(v: &Value) -> Vec<String> {
    v["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["digest"].as_str().unwrap().to_owned())
        .collect()
}

fn count(v: &Value) -> usize {
    v["plugins"].as_array().unwrap().len()
}

/// Uploads a spread of synthc variants; returns the digests in upload order.
async fn populate(app: &TestApp) -> Vec<String> {
    let mut out = Vec::new();
    for file in [
        "libmemflow_synthc.x86_64.so",
        "libmemflow_synthc.x86.so",
        "libmemflow_synthc.aarch64.so",
        "libmemflow_synthc_abi2.x86_64.so",
        "libmemflow_synthc.aarch64.dylib",
        "memflow_synthc.x86_64.dll",
        "libmemflow_synthc.universal.dylib",
    ] {
        out.push(app.upload_ok(fixture(file), "Added").await);
    }
    out
}

#[tokio::test]
async fn order_is_abi_descending_then_newest() {
    let app = TestApp::start().await;
    let d = populate(&app).await;
    let all = app.get_json("/plugins/synthc?limit=50").await;
    // abi2 first; then abi1 newest first (the universal file has two variants, arm64 and x86_64).
    let got = digests(&all);
    assert_eq!(got[0], d[3]);
    assert_eq!(&got[1..3], &[d[6].clone(), d[6].clone()]);
    assert_eq!(
        &got[3..],
        &[
            d[5].clone(),
            d[4].clone(),
            d[2].clone(),
            d[1].clone(),
            d[0].clone()
        ]
    );
    assert_eq!(
        count(&app.get_json("/plugins/synthc").await),
        5,
        "default limit is 5"
    );
    // GET /plugins shows the description of the variant that sorts first (abi2).
    let list = app.get_json("/plugins").await;
    assert_eq!(
        list["plugins"][0]["description"],
        "synthetic connector fixture built with plugin_version 2"
    );
}

#[tokio::test]
async fn every_filter_selects_exactly_its_variants() {
    let app = TestApp::start().await;
    let d = populate(&app).await;
    let q = |s: &str| format!("/plugins/synthc?limit=50&{s}");
    assert_eq!(
        digests(&app.get_json(&q("file_type=pe")).await),
        vec![d[5].clone()]
    );
    assert_eq!(
        digests(&app.get_json(&q("file_type=mach")).await),
        vec![d[6].clone(), d[6].clone(), d[4].clone()]
    );
    assert_eq!(count(&app.get_json(&q("file_type=elf")).await), 4);
    assert_eq!(
        digests(&app.get_json(&q("architecture=x86")).await),
        vec![d[1].clone()]
    );
    assert_eq!(count(&app.get_json(&q("architecture=arm64")).await), 3);
    assert_eq!(
        digests(&app.get_json(&q("memflow_plugin_version=2")).await),
        vec![d[3].clone()]
    );
    assert_eq!(
        count(&app.get_json(&q("memflow_plugin_version=1")).await),
        7
    );
    assert_eq!(
        digests(&app.get_json(&q("version=2.0.0-abi2")).await),
        vec![d[3].clone()]
    );
    assert_eq!(count(&app.get_json(&q("version=1.2.3")).await), 7);
    // version also matches a digest prefix, and the whole digest.
    assert_eq!(
        digests(&app.get_json(&q(&format!("version={}", &d[1][..10]))).await),
        vec![d[1].clone()]
    );
    assert_eq!(
        digests(&app.get_json(&q(&format!("version={}", d[2]))).await),
        vec![d[2].clone()]
    );
    assert_eq!(
        digests(&app.get_json(&q(&format!("digest={}", d[0]))).await),
        vec![d[0].clone()]
    );
    assert_eq!(
        digests(
            &app.get_json(&q(&format!("digest_short={}", &d[5][..7])))
                .await
        ),
        vec![d[5].clone()]
    );
    let combined = q("file_type=elf&architecture=x86_64&memflow_plugin_version=1&version=1.2.3");
    assert_eq!(digests(&app.get_json(&combined).await), vec![d[0].clone()]);
    assert_eq!(
        count(&app.get_json("/plugins/SYNTHC").await),
        0,
        "names are case-sensitive"
    );
}

/// memflow-registry skipped before filtering, so page 2 of a filtered list was wrong.
#[tokio::test]
async fn skip_and_limit_apply_after_filtering() {
    let app = TestApp::start().await;
    let d = populate(&app).await;
    assert_eq!(
        count(&app.get_json("/plugins/synthc?file_type=pe&skip=1").await),
        0
    );
    assert_eq!(
        digests(&app.get_json("/plugins/synthc?file_type=pe&skip=0").await),
        vec![d[5].clone()]
    );
    let mut padded = Vec::new();
    for i in 1..=53 {
        padded.push(app.upload_ok(padded_plugin(i), "Added").await);
    }
    let q = "/plugins/synthc?file_type=elf&architecture=x86_64&memflow_plugin_version=1";
    let full = digests(&app.get_json(&format!("{q}&limit=1000")).await);
    assert_eq!(full.len(), 50, "limit is capped at 50");
    let mut paged = Vec::new();
    for page in 0..11 {
        let v = app
            .get_json(&format!("{q}&skip={}&limit=5", page * 5))
            .await;
        assert_eq!(v["skip"], page * 5);
        paged.extend(digests(&v));
    }
    assert_eq!(paged.len(), 54, "53 padded + the original x86_64 file");
    assert_eq!(&paged[..50], &full[..]);
    assert_eq!(paged[0], *padded.last().unwrap(), "newest first");
    assert_eq!(paged[53], d[0]);
    assert_eq!(count(&app.get_json(&format!("{q}&limit=0")).await), 0);
}

/// Garbage in the query string is a clear 400, never a 5xx or a dropped connection.
#[tokio::test]
async fn bad_queries_are_clear_client_errors() {
    let app = TestApp::start().await;
    populate(&app).await;
    for query in [
        "file_type=foo",
        "architecture=sparc",
        "architecture=unknown:3",
        "limit=-1",
        "skip=99999999999999999999",
        "memflow_plugin_version=x",
        "memflow_plugin_version=99999999999",
        "limit=1&limit=2",
        "digest=XYZ",
        "digest=F831A5AD8C81293FB9B09FF14C19634DF47CBBE9327C5E75D42B4C7EEE4452D7",
        "digest_short=zz",
    ] {
        let r = app.get(&format!("/plugins/synthc?{query}")).await;
        assert_eq!(r.status(), 400, "{query}");
        assert!(
            !r.text().await.unwrap().is_empty(),
            "{query}: error without a message"
        );
    }
    // Odd values are just values that match nothing (invalid UTF-8 decodes lossily).
    let long = "9".repeat(10_000);
    for query in [
        format!("version={long}"),
        "version=%C3%A9%E2%82%AC".into(),
        "unknown_param=1".into(),
        "version=%FF%FE".into(),
        format!("version={}", "a".repeat(65)),
    ] {
        let r = app.get(&format!("/plugins/synthc?{query}")).await;
        assert_eq!(r.status(), 200, "{query}");
    }
    for name in ["%C3%A9t%C3%A9", "a%2Fb", &"x".repeat(5000), "%00"] {
        let r = app.get(&format!("/plugins/{name}")).await;
        assert_eq!(r.status(), 200, "{name}");
        assert_eq!(count(&r.json().await.unwrap()), 0);
    }
}

/// Listings are served from a cache: every write must show in the very next read.
#[tokio::test]
async fn listings_follow_every_write() {
    let app = TestApp::start().await;
    let first = app
        .upload_ok(fixture("libmemflow_synthc.x86_64.so"), "Added")
        .await;
    for _ in 0..3 {
        assert_eq!(count(&app.get_json("/plugins").await), 1);
        assert_eq!(count(&app.get_json("/plugins/synthc").await), 1);
    }
    let multi = app
        .upload_ok(fixture("libmemflow_synthmulti.x86_64.so"), "Added")
        .await;
    let second = app.upload_ok(padded_plugin(9), "Added").await;
    assert_eq!(count(&app.get_json("/plugins").await), 3);
    assert_eq!(
        digests(&app.get_json("/plugins/synthc").await),
        vec![second.clone(), first.clone()]
    );
    assert_eq!(
        app.delete(&second, Some(crate::util::TOKEN)).await.status(),
        200
    );
    assert_eq!(digests(&app.get_json("/plugins/synthc").await), vec![first]);
    assert_eq!(
        app.delete(&multi, Some(crate::util::TOKEN)).await.status(),
        200
    );
    assert_eq!(count(&app.get_json("/plugins").await), 1);
}

/// `key_id` selects the variants whose upload signature verified under that key
/// (memflow-registry ignored it).
#[tokio::test]
async fn variants_are_filtered_by_the_key_that_signed_them() {
    let other = crate::hosts::host_key(21);
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("other.pub.pem");
    std::fs::write(&pem, crate::hosts::public_pem(&other)).unwrap();
    let app = TestApp::start_with(|c| c.registry.public_keys.push(pem.clone())).await;
    let mine = app
        .upload_ok(fixture("libmemflow_synthc.x86_64.so"), "Added")
        .await;
    let theirs = padded_plugin(9);
    let sig = crate::util::sign_with(&other, &theirs);
    assert_eq!(app.upload(theirs.clone(), &sig).await.status(), 200);
    let theirs = crate::util::sha256_hex(&theirs);
    let key_of = |meta: Value| meta["key_id"].as_str().unwrap().to_owned();
    let my_key = key_of(app.get_json(&format!("/files/{mine}/metadata")).await);
    let their_key = key_of(app.get_json(&format!("/files/{theirs}/metadata")).await);
    assert_ne!(my_key, their_key);
    let by = |key: String| format!("/plugins/synthc?key_id={key}");
    assert_eq!(
        digests(&app.get_json(&by(my_key.clone())).await),
        vec![mine]
    );
    assert_eq!(
        digests(&app.get_json(&by(their_key.to_uppercase())).await),
        vec![theirs]
    );
    assert_eq!(count(&app.get_json(&by("ab".repeat(32))).await), 0);
    assert_eq!(app.get(&by("zz".into())).await.status(), 400);
}
