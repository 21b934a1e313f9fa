//! kill -9 in the middle of uploads: nothing acknowledged is lost, nothing is half-visible.

use std::collections::HashMap;

use crate::util::{Served, cairn, plugin, pub_key, serve_args, sha256_hex, upload};

const TOKEN: &str = "crash-token";

/// Every upload is either fully visible (metadata, listing and exact bytes) or not at all;
/// every upload answered "Added" is visible.
async fn check_all_or_nothing(url: &str, uploads: &HashMap<String, bool>) -> usize {
    let client = reqwest::Client::new();
    let mut visible = 0;
    for (digest, acknowledged) in uploads {
        let meta = client
            .get(format!("{url}/files/{digest}/metadata"))
            .send()
            .await
            .unwrap()
            .status();
        let file = client
            .get(format!("{url}/files/{digest}"))
            .send()
            .await
            .unwrap();
        let file_status = file.status();
        let listed = client
            .get(format!("{url}/plugins/synthc?digest={digest}"))
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()["plugins"]
            .as_array()
            .unwrap()
            .len();
        if meta == 200 {
            assert_eq!(file_status, 200, "{digest}: metadata without bytes");
            assert_eq!(
                &sha256_hex(&file.bytes().await.unwrap()),
                digest,
                "{digest}: partial bytes served"
            );
            assert_eq!(listed, 1, "{digest}: metadata but not listed");
            visible += 1;
        } else {
            assert_eq!(meta, 404);
            assert_eq!(file_status, 404, "{digest}: bytes without metadata");
            assert_eq!(listed, 0, "{digest}: listed without metadata");
            assert!(!acknowledged, "{digest}: answered Added, then lost");
        }
    }
    visible
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_during_concurrent_uploads_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = pub_key();
    let args = serve_args(&data, TOKEN, &key);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut uploads: HashMap<String, bool> = HashMap::new();
    let mut checkpoints: Vec<String> = Vec::new();
    let mut tag = 0u64;
    // Three rounds, each killing the server once a different number of uploads was answered.
    for (round, kill_after_acks) in [(0u64, 1usize), (1, 4), (2, 10)] {
        let served = Served::start(cairn(), &args);
        let client = reqwest::Client::new();
        let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
        let count = 24u64;
        for i in 0..count {
            tag += 1;
            // A mix of small and multi-megabyte uploads, so the kill lands mid-stream.
            let size = if i % 3 == 0 { 24 << 20 } else { 20_000 };
            let bytes = plugin(size, tag + round * 1000);
            let digest = sha256_hex(&bytes);
            uploads.insert(digest.clone(), false);
            let (client, url, done) = (client.clone(), served.url.clone(), done_tx.clone());
            tokio::spawn(async move {
                let ok = matches!(upload(&client, &url, TOKEN, bytes).await, Ok((200, body)) if body == "\"Added\"");
                let _ = done.send((digest, ok));
            });
        }
        drop(done_tx);
        let mut answered = Vec::new();
        while answered.iter().filter(|(_, ok)| *ok).count() < kill_after_acks {
            match done_rx.recv().await {
                Some(result) => answered.push(result),
                None => break,
            }
        }
        // A checkpoint served just before the kill: the restarted log must extend it.
        let seen = reqwest::get(format!("{}/log/checkpoint", served.url))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        checkpoints.push(seen);
        served.kill9();
        while let Some(result) = done_rx.recv().await {
            answered.push(result);
        }
        assert_eq!(answered.len() as u64, count);
        for (digest, ok) in answered {
            if ok {
                uploads.insert(digest, true);
            }
        }
        let restarted = Served::start(cairn(), &args);
        check_log(&restarted, &data, &checkpoints, &uploads).await;
        check_all_or_nothing(&restarted.url, &uploads).await;
        let staging = std::fs::read_dir(data.join("staging")).unwrap().count();
        assert_eq!(
            staging, 0,
            "round {round}: staging files survived a restart"
        );
        restarted.kill9();
    }
    let acknowledged = uploads.values().filter(|a| **a).count();
    assert!(
        acknowledged > 0,
        "no upload finished before any kill: the test proves nothing"
    );
    assert!(
        acknowledged < uploads.len(),
        "every upload finished before the kill: the test proves nothing"
    );
    let served = Served::start(cairn(), &args);
    let visible = check_all_or_nothing(&served.url, &uploads).await;
    assert!(visible >= acknowledged);
}

/// After a restart: every acknowledged upload has a log entry naming it, the log verifies
/// with `cairn log verify`, and every checkpoint served before a kill is a prefix of it.
async fn check_log(
    served: &Served,
    data: &std::path::Path,
    checkpoints: &[String],
    uploads: &HashMap<String, bool>,
) {
    let text = served.stderr_text();
    let key = text
        .lines()
        .skip_while(|l| !l.contains("verifier key"))
        .nth(1)
        .expect("the server prints its verifier key")
        .to_owned();
    let client = reqwest::Client::new();
    for (digest, acknowledged) in uploads {
        if !acknowledged {
            continue;
        }
        let meta: serde_json::Value = client
            .get(format!("{}/files/{digest}/metadata", served.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let index = meta["log_index"]
            .as_u64()
            .expect("acknowledged upload without a log index");
        let entry: serde_json::Value = client
            .get(format!("{}/log/entries/{index}", served.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(entry["entry"]["digest"], digest.as_str());
    }
    for (i, cp) in checkpoints.iter().enumerate() {
        let since = data.with_file_name(format!("since-{i}"));
        std::fs::write(&since, cp).unwrap();
        let out = cairn()
            .args(["log", "verify", "--tiles", &format!("{}/log", served.url)])
            .arg("--key")
            .arg(&key)
            .arg("--since")
            .arg(&since)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "checkpoint {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
