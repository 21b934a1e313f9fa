//! Every shared fixture against memflow-registry's recorded answers.

use serde_json::{Value, json};

use crate::util::{TestApp, fixture, reference, sha256_hex};

/// Uploads every fixture with the signature the reference run used, and compares status,
/// body and metadata with what the reference server answered, except where Cairn is
/// deliberately better (listed in `BETTER`).
#[tokio::test]
async fn every_fixture_matches_the_reference() {
    // file -> (status, body) where Cairn deliberately differs from the reference.
    const BETTER: &[(&str, u16, &str)] = &[
        // Reference: 400 "Memflow error: inventory: out of bounds".
        (
            "libmemflow_badstrlen.x86_64.so",
            400,
            "invalid plugin binary: descriptor MEMFLOW_CONNECTOR_SYNTHC: string length is absurd",
        ),
        // Reference: analyzer panic, no HTTP response.
        (
            "libmemflow_bssdesc.x86_64.so",
            400,
            "invalid plugin binary: descriptor MEMFLOW_CONNECTOR_BSS: descriptor lies outside the file's data",
        ),
        // Reference: 400 "inventory: not supported" (fat Mach-O refused).
        ("libmemflow_synthc.universal.dylib", 200, "\"Added\""),
        // Reference: handler panic after a half-written state.
        ("libmemflow_synthdup.x86_64.so", 200, "\"Added\""),
        // Reference: "Added" with no descriptors, a file nobody can ever list.
        (
            "libnot_a_plugin.x86_64.so",
            400,
            "invalid plugin binary: no MEMFLOW_CONNECTOR_* or MEMFLOW_OS_* descriptor found",
        ),
    ];
    let app = TestApp::start().await;
    let mut compared = 0;
    for (file, entry) in reference() {
        let bytes = fixture(&file);
        assert_eq!(
            sha256_hex(&bytes),
            entry["sha256"].as_str().unwrap(),
            "{file}"
        );
        assert_eq!(bytes.len() as u64, entry["size"].as_u64().unwrap());
        let r = app
            .upload(bytes, entry["signature"].as_str().unwrap())
            .await;
        let status = r.status().as_u16();
        let body = r.text().await.unwrap();
        match BETTER.iter().find(|(f, ..)| *f == file) {
            Some((_, s, b)) => assert_eq!((status, body.as_str()), (*s, *b), "{file}"),
            None => {
                let expected = (
                    entry["upload_status"].as_u64().unwrap() as u16,
                    entry["upload_body"].as_str().unwrap(),
                );
                assert_eq!((status, body.as_str()), expected, "{file}");
            }
        }
        if status != 200 {
            let r = app
                .get(&format!(
                    "/files/{}/metadata",
                    entry["sha256"].as_str().unwrap()
                ))
                .await;
            assert_eq!(
                r.status(),
                404,
                "{file}: refused upload left metadata behind"
            );
            continue;
        }
        let meta = app
            .get_json(&format!(
                "/files/{}/metadata",
                entry["sha256"].as_str().unwrap()
            ))
            .await;
        assert_eq!(meta["digest"], entry["sha256"]);
        assert_eq!(
            meta["signature"], entry["signature"],
            "{file}: fixture signatures are already low-S"
        );
        assert_eq!(meta["verified"], true);
        assert!(meta["created_at"].as_str().unwrap().len() >= 19);
        assert!(!meta["created_at"].as_str().unwrap().ends_with('Z'));
        if let Some(expected) = entry["metadata"].get("descriptors") {
            assert_eq!(&meta["descriptors"], expected, "{file}");
            compared += 1;
        }
    }
    assert_eq!(compared, 9, "descriptor sets compared with the reference");
}

/// The JSON shapes memflow clients parse: field names, enum spellings, the skip echo.
#[tokio::test]
async fn json_shapes_are_memflow_registry_shapes() {
    let app = TestApp::start().await;
    let digest = app
        .upload_ok(fixture("libmemflow_synthc.x86_64.so"), "Added")
        .await;
    assert_eq!(
        app.get_json("/plugins").await,
        json!({"plugins": [{"name": "synthc", "description": "synthetic connector fixture for registry parser tests"}]})
    );
    let found = app.get_json("/plugins/synthc?skip=0").await;
    assert_eq!(found["skip"], 0);
    let variant = &found["plugins"][0];
    let keys: Vec<&str> = variant
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in ["digest", "signature", "created_at", "descriptor"] {
        assert!(keys.contains(&key), "{key} missing from {variant}");
    }
    assert_eq!(variant["digest"], Value::from(digest.clone()));
    assert_eq!(
        variant["descriptor"],
        json!({"plugin_kind": "connector", "export_name": "MEMFLOW_CONNECTOR_SYNTHC", "file_type": "elf",
               "architecture": "x86_64", "plugin_version": 1, "name": "synthc", "version": "1.2.3",
               "description": "synthetic connector fixture for registry parser tests"})
    );
    let key_id = variant["key_id"].as_str().unwrap();
    assert_eq!(key_id.len(), 64);
    // created_at: NaiveDateTime without zone, as chrono writes it.
    let created = variant["created_at"].as_str().unwrap();
    assert!(
        created.as_bytes()[10] == b'T' && !created.contains('+') && !created.ends_with('Z'),
        "{created}"
    );
    assert_eq!(
        app.get_json("/plugins/nothing?skip=7").await,
        json!({"plugins": [], "skip": 7})
    );
    let r = app
        .upload(
            fixture("libmemflow_synthc.x86_64.so"),
            &crate::util::sign(&fixture("libmemflow_synthc.x86_64.so")),
        )
        .await;
    assert_eq!(r.text().await.unwrap(), "\"AlreadyExists\"");
    assert_eq!(app.get_json("/health").await, json!("Ok"));
}
