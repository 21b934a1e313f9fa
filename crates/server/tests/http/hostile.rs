//! Inputs an index cannot serve, and proof queries whose errors must name the parameter.

use crate::util::{TestApp, fixture, sign};

/// The synthc fixture with its name's length set to 0: an empty plugin name.
fn nameless() -> Vec<u8> {
    let mut bytes = fixture("libmemflow_synthc.x86_64.so");
    let description = "synthetic connector fixture for registry parser tests".len() as u64;
    let at = (0..bytes.len() - 40)
        .find(|&i| {
            bytes[i..i + 8] == 6u64.to_le_bytes()
                && bytes[i + 16..i + 24] == 5u64.to_le_bytes()
                && bytes[i + 32..i + 40] == description.to_le_bytes()
        })
        .expect("the descriptor's string slices");
    bytes[at..at + 8].copy_from_slice(&0u64.to_le_bytes());
    bytes
}

#[tokio::test]
async fn a_descriptor_without_a_name_is_refused() {
    let app = TestApp::start().await;
    let bytes = nameless();
    let d = cairn_plugin::analyze(&bytes).unwrap();
    assert_eq!(d[0].name, "", "the patch empties the name");
    let r = app.upload(bytes.clone(), &sign(&bytes)).await;
    assert_eq!(r.status(), 400);
    let text = r.text().await.unwrap();
    assert!(text.contains("the plugin name is empty"), "{text}");
    let listed = app.get_json("/plugins").await;
    assert_eq!(listed["plugins"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn proof_errors_name_the_parameter() {
    let app = TestApp::start().await;
    let bytes = fixture("libmemflow_synthc.x86_64.so");
    app.upload_ok(bytes.clone(), "Added").await;
    let answer = |path: &'static str| {
        let url = app.url(path);
        async move {
            let r = reqwest::get(url).await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, text) = answer("/log/proof/inclusion?index=0&size=4").await;
    assert_eq!(status, 400);
    assert!(
        text.contains("size=4 is beyond the log's 1 published entries"),
        "{text}"
    );
    let (status, text) = answer("/log/proof/inclusion?index=1&size=1").await;
    assert_eq!(status, 400);
    assert!(text.contains("index=1 is not below size=1"), "{text}");
    let (status, text) = answer("/log/proof/consistency?from=0&to=5").await;
    assert_eq!(status, 400);
    assert!(
        text.contains("to=5 is beyond the log's 1 published entries"),
        "{text}"
    );
    let (status, text) = answer("/log/proof/consistency?from=1&to=0").await;
    assert_eq!(status, 400);
    assert!(text.contains("from=1 is larger than to=0"), "{text}");
}

async fn cache_bytes(app: &TestApp) -> u64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("cairn_listing_cache_bytes "))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn misses_with_made_up_names_are_never_cached() {
    let app = TestApp::start().await;
    for i in 0..300 {
        let name = format!("{i}{}", "x".repeat(200));
        let r = app.get(&format!("/plugins/{name}")).await;
        assert_eq!(r.status(), 200);
    }
    // Names longer than any plugin can have are answered without a query.
    let long = "y".repeat(60_000);
    let listed = app.get_json(&format!("/plugins/{long}")).await;
    assert_eq!(listed["plugins"].as_array().unwrap().len(), 0);
    assert_eq!(cache_bytes(&app).await, 0, "misses were cached");
    // A hit is cached.
    let bytes = fixture("libmemflow_synthc.x86_64.so");
    app.upload_ok(bytes, "Added").await;
    let listed = app.get_json("/plugins/synthc").await;
    assert_eq!(listed["plugins"].as_array().unwrap().len(), 1);
    assert!(cache_bytes(&app).await > 0, "a hit was not cached");
}
