//! `GET /log/search`: every key finds exactly the entries the log says it should (worked
//! out here from the log itself, entry by entry), page by page, with deletions named and
//! proofs that verify, and the same answers after the index is rebuilt from the log.

use std::collections::BTreeMap;

use cairn_api::{SearchAnswer, SearchKey};
use cairn_registry::Registry;
use serde_json::Value;

use crate::util::{TOKEN, TestApp, fixture, padded_plugin, sign};

/// Every (key, value) some entry of the log is found by, with the indexes that have it:
/// each entry read over HTTP and keyed by `cairn_api::search_keys`.
async fn expected(app: &TestApp) -> BTreeMap<(SearchKey, String), Vec<u64>> {
    let checkpoint = app.get("/log/checkpoint").await.text().await.unwrap();
    let size: u64 = checkpoint.lines().nth(1).unwrap().parse().unwrap();
    let mut want: BTreeMap<(SearchKey, String), Vec<u64>> = BTreeMap::new();
    for i in 0..size {
        let answer = app.get_json(&format!("/log/entries/{i}")).await;
        let entry: cairn_api::LogEntry = serde_json::from_value(answer["entry"].clone()).unwrap();
        for key in cairn_api::search_keys(&entry) {
            want.entry(key).or_default().push(i);
        }
    }
    want
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn page(app: &TestApp, query: &str) -> (u16, String) {
    let r = app.get(&format!("/log/search?{query}")).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Every hit of a search, walking pages of `limit`: (index, deleted_by).
async fn search_all(
    app: &TestApp,
    key: SearchKey,
    value: &str,
    limit: u32,
) -> Vec<(u64, Option<u64>)> {
    let mut hits = Vec::new();
    let mut after = String::new();
    loop {
        let query = format!("{}={}&limit={limit}{after}", key.as_str(), encode(value));
        let (status, body) = page(app, &query).await;
        assert_eq!(status, 200, "{query}: {body}");
        let answer: SearchAnswer = serde_json::from_str(&body).unwrap();
        assert!(answer.hits.len() <= limit as usize);
        hits.extend(answer.hits.iter().map(|h| (h.index, h.deleted_by)));
        match answer.next {
            Some(n) => after = format!("&after={n}"),
            None => break,
        }
    }
    hits
}

/// A log with every kind of entry a search finds: artifacts (one deleted and published
/// again), a scan, an attestation, a host with scans and a baseline, and packages (a
/// version deleted and published again).
async fn fill(app: &TestApp) -> String {
    app.upload_ok(fixture("libmemflow_synthmulti.x86_64.so"), "Added")
        .await;
    let gone = app
        .upload_ok(fixture("libmemflow_synthc.x86_64.so"), "Added")
        .await;
    app.upload_ok(padded_plugin(2), "Added").await;
    assert_eq!(app.delete(&gone, Some(TOKEN)).await.status(), 200);
    app.upload_ok(fixture("libmemflow_synthc.x86_64.so"), "Added")
        .await;
    let scan = crate::scans::small_scan();
    let (status, body) = crate::scans::post(app, scan.clone(), &sign(&scan)).await;
    assert_eq!(status, 200, "{body}");
    let link = std::fs::read(crate::attest::in_toto("package.1c656f99.link")).unwrap();
    let (status, body) = crate::attest::submit(app, link, Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    let key = crate::hosts::host_key(7);
    let token = crate::hosts::enroll(app, "web1", &key).await;
    let root = crate::hosts::system();
    let first = crate::hosts::scan_of("web1", root.path());
    let sig = crate::util::sign_with(&key, &first);
    let (status, body) = crate::hosts::submit(app, first.clone(), &sig, &token).await;
    assert_eq!(status, 200, "{body}");
    let digest = crate::util::sha256_hex(&first);
    let (status, body) = crate::hosts::set_baseline(app, "web1", &digest, TOKEN).await;
    assert_eq!(status, 200, "{body}");
    crate::packages::publish_ecdsa(app, "pkg", "1.0.0", b"first".to_vec()).await;
    crate::packages::delete(app, "pkg", "1.0.0").await;
    crate::packages::publish_ecdsa(app, "pkg", "1.0.0", b"second".to_vec()).await;
    gone
}

fn kinds(app_entries: &[Value]) -> Vec<String> {
    app_entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

async fn entries(app: &TestApp, hits: &[(u64, Option<u64>)]) -> Vec<Value> {
    let mut out = Vec::new();
    for (i, _) in hits {
        out.push(app.get_json(&format!("/log/entries/{i}")).await["entry"].clone());
    }
    out
}

#[tokio::test]
async fn every_key_finds_exactly_its_entries_before_and_after_a_reindex() {
    let signer = crate::attest::in_toto("signer.pub.pem");
    let mut app = TestApp::start_with(|c| c.registry.public_keys.push(signer)).await;
    let deleted = fill(&app).await;
    let want = expected(&app).await;
    for key in SearchKey::ALL {
        assert!(
            want.keys().any(|(k, _)| *k == key),
            "the log has no entry found by {key:?}"
        );
    }

    // What a reader of the log knows without the search: checked by hand.
    let synthc = search_all(&app, SearchKey::Digest, &deleted, 50).await;
    assert_eq!(
        kinds(&entries(&app, &synthc).await),
        ["artifact", "delete", "artifact"]
    );
    assert_eq!(
        synthc[0].1,
        Some(synthc[1].0),
        "the first is deleted by the delete"
    );
    assert_eq!(synthc[2].1, None, "published again: still served");
    let pkg = search_all(&app, SearchKey::Name, "pkg@1.0.0", 50).await;
    assert_eq!(
        kinds(&entries(&app, &pkg).await),
        ["package", "package_delete", "package"]
    );
    assert_eq!((pkg[0].1, pkg[2].1), (Some(pkg[1].0), None));
    let product = "bb7b0f66816f3b03f37459f3bd6a41a444d425fa4c170d13c55d393a1a9a241c";
    let material = "0955a8767e80cb2d29f2ce12ed50ac1ebf37612fc8d93ffd734029da7ba23be1";
    for (key, value) in [
        (SearchKey::Subject, product),
        (SearchKey::Material, material),
    ] {
        let hits = search_all(&app, key, value, 50).await;
        assert_eq!(
            kinds(&entries(&app, &hits).await),
            ["attestation"],
            "{key:?}"
        );
    }
    // A digest is found in upper case and with a sha256: prefix too.
    let upper = format!("sha256:{}", deleted.to_uppercase());
    assert_eq!(
        search_all(&app, SearchKey::Digest, &upper, 50).await,
        synthc
    );
    let web1 = search_all(&app, SearchKey::Host, "web1", 50).await;
    assert_eq!(
        kinds(&entries(&app, &web1).await),
        ["host", "scan", "baseline"]
    );
    let key_id = app.get_json(&format!("/files/{deleted}/metadata")).await["key_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let signed = search_all(&app, SearchKey::Key, &key_id, 50).await;
    let mut signed_kinds = kinds(&entries(&app, &signed).await);
    signed_kinds.sort();
    assert_eq!(
        signed_kinds,
        [
            "artifact", "artifact", "artifact", "artifact", "package", "package", "scan"
        ]
    );

    // Every key of every entry, pages of 2: exactly the entries that have it.
    let mut answers = BTreeMap::new();
    for ((key, value), indexes) in &want {
        let hits = search_all(&app, *key, value, 2).await;
        let got: Vec<u64> = hits.iter().map(|(i, _)| *i).collect();
        assert_eq!(&got, indexes, "{key:?}={value}");
        answers.insert((*key, value.clone()), hits);
    }
    let (status, body) = page(&app, "key=00").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"hits\":[]"), "{body}");

    // The index rebuilt from the log alone answers the same.
    app.stop().await;
    let mut config = app.registry_config();
    config.database = app.database();
    drop(Registry::reindex(config).await.unwrap());
    app.launch().await;
    for ((key, value), hits) in &answers {
        assert_eq!(
            &search_all(&app, *key, value, 3).await,
            hits,
            "{key:?}={value}"
        );
    }
}

#[tokio::test]
async fn search_proofs_verify_and_bad_queries_are_refused() {
    let app = TestApp::start().await;
    let digest = app
        .upload_ok(fixture("libmemflow_synthc.x86_64.so"), "Added")
        .await;
    app.upload_ok(padded_plugin(5), "Added").await;
    let (status, body) = page(&app, &format!("digest={digest}&proofs=true")).await;
    assert_eq!(status, 200, "{body}");
    let answer: SearchAnswer = serde_json::from_str(&body).unwrap();
    let checkpoint_text = answer.checkpoint.unwrap();
    let vkey = crate::log::key_of(&app);
    let checkpoint =
        cairn_tlog::verify::open_checkpoint(checkpoint_text.as_bytes(), &vkey).unwrap();
    assert_eq!(answer.hits.len(), 1);
    let hit = &answer.hits[0];
    let proof: Vec<cairn_tlog::Hash> = hit
        .proof
        .as_ref()
        .unwrap()
        .iter()
        .map(|h| {
            let raw =
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, h).unwrap();
            raw.as_slice().try_into().unwrap()
        })
        .collect();
    let leaf = cairn_tlog::merkle::leaf_hash(&cairn_tlog::entry::canonical(&hit.entry));
    cairn_tlog::merkle::verify_inclusion(
        hit.index,
        checkpoint.size,
        &leaf,
        &proof,
        &checkpoint.root,
    )
    .unwrap();
    // Another entry's leaf does not verify with this proof.
    let mut other = hit.entry.clone();
    other["size"] = Value::from(1);
    let forged = cairn_tlog::merkle::leaf_hash(&cairn_tlog::entry::canonical(&other));
    assert!(
        cairn_tlog::merkle::verify_inclusion(
            hit.index,
            checkpoint.size,
            &forged,
            &proof,
            &checkpoint.root
        )
        .is_err()
    );

    for (query, says) in [
        ("", "give one of"),
        ("limit=5", "give one of"),
        (&format!("digest={digest}&key=ab") as &str, "only one of"),
        ("digst=ab", "unknown field"),
        ("digest=ab&limit=x", "not a number"),
        ("digest=ab&proofs=yes", "expected true or false"),
    ] {
        let (status, body) = page(&app, query).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body.contains(says), "{query}: {body}");
    }
}

/// Empties the search table and marks it unbuilt, as the migration leaves an index made
/// before the search index existed; then reads both back through a fresh connection.
async fn forget_search(app: &TestApp) {
    use sqlx::Connection as _;
    const FORGET: [&str; 2] = [
        "DELETE FROM search",
        "INSERT INTO search_pending (id) VALUES (1)",
    ];
    const STATE: &str =
        "SELECT (SELECT count(*) FROM search), (SELECT count(*) FROM search_pending)";
    let state: (i64, i64) = match app.database() {
        Some(url) => {
            let mut db = sqlx::PgConnection::connect(&url).await.unwrap();
            for sql in FORGET {
                sqlx::query(sql).execute(&mut db).await.unwrap();
            }
            db.close().await.unwrap();
            let mut db = sqlx::PgConnection::connect(&url).await.unwrap();
            let state = sqlx::query_as(STATE).fetch_one(&mut db).await.unwrap();
            db.close().await.unwrap();
            state
        }
        None => {
            let path = app.data_dir().join("index.db");
            let url = format!("sqlite://{}", path.display());
            let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
            for sql in FORGET {
                sqlx::query(sql).execute(&mut db).await.unwrap();
            }
            db.close().await.unwrap();
            let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
            let state = sqlx::query_as(STATE).fetch_one(&mut db).await.unwrap();
            db.close().await.unwrap();
            state
        }
    };
    assert_eq!(
        state,
        (0, 1),
        "search rows, pending marker after forgetting"
    );
}

#[tokio::test]
async fn an_index_from_before_the_search_index_gets_it_from_the_log_at_start() {
    let mut app = TestApp::start().await;
    let digest = app
        .upload_ok(fixture("libmemflow_synthc.x86_64.so"), "Added")
        .await;
    assert_eq!(app.delete(&digest, Some(TOKEN)).await.status(), 200);
    let before = search_all(&app, SearchKey::Digest, &digest, 50).await;
    assert_eq!(before.len(), 2);
    app.stop().await;
    forget_search(&app).await;
    app.launch().await;
    assert_eq!(
        search_all(&app, SearchKey::Digest, &digest, 50).await,
        before
    );
    // Nothing else changed: the artifact stays deleted.
    assert_eq!(app.get(&format!("/files/{digest}")).await.status(), 404);
}
