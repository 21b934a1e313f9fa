//! Three `cairn serve` processes on one PostgreSQL database and one S3 bucket (moto): what
//! is uploaded through any of them lists and downloads through the others; kill -9 of the
//! log leader in the middle of a stream of uploads loses no acknowledged upload, another
//! instance takes over sequencing, and the log stays consistent (`cairn log verify`).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::util::{Served, cairn, plugin, pub_key, serve_args, sha256_hex, upload};

const TOKEN: &str = "scale-token";

struct Cluster {
    dir: tempfile::TempDir,
    database: String,
    bucket: cairn_testkit::s3::Bucket,
}

impl Cluster {
    fn key(&self) -> std::path::PathBuf {
        self.dir.path().join("log.pem")
    }

    fn start(&self, n: usize) -> Served {
        let data = self.dir.path().join(format!("data-{n}"));
        let key = pub_key();
        let mut args = serve_args(&data, TOKEN, &key);
        args.extend([
            "--database".into(),
            self.database.clone(),
            "--object-store".into(),
            self.bucket.url.clone(),
            "--s3-endpoint".into(),
            self.bucket.endpoint.clone(),
            "--log-key".into(),
            self.key().display().to_string(),
        ]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut cmd = cairn();
        cmd.envs(cairn_testkit::s3::CREDENTIALS);
        Served::start(cmd, &args)
    }
}

async fn get_json(url: &str) -> serde_json::Value {
    let r = reqwest::get(url).await.unwrap();
    assert!(r.status().is_success(), "GET {url}: {}", r.status());
    r.json().await.unwrap()
}

/// Index of the one instance that reports leading the log; waits for there to be one.
async fn leader(instances: &[&Served]) -> usize {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut leading = Vec::new();
        for (i, s) in instances.iter().enumerate() {
            let ready = reqwest::get(format!("{}/ready", s.url)).await;
            if let Ok(r) = ready
                && r.json::<serde_json::Value>().await.unwrap()["log_leader"] == true
            {
                leading.push(i);
            }
        }
        if leading.len() == 1 {
            return leading[0];
        }
        assert!(
            Instant::now() < deadline,
            "no single log leader: {leading:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every digest `url` lists, page by page (at most 50 a page).
async fn listed(url: &str) -> HashSet<String> {
    let mut all = HashSet::new();
    loop {
        let page = get_json(&format!("{url}/plugins/synthc?limit=50&skip={}", all.len())).await;
        let page = page["plugins"].as_array().unwrap().clone();
        all.extend(
            page.iter()
                .map(|p| p["digest"].as_str().unwrap().to_owned()),
        );
        if page.len() < 50 {
            return all;
        }
    }
}

/// Every acknowledged upload is listed, described and served, byte for byte, by `url`;
/// an unacknowledged one is all there or not at all.
async fn check_everywhere(url: &str, uploads: &HashMap<String, bool>) {
    let client = reqwest::Client::new();
    let listed: HashSet<String> = {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let listed = listed(url).await;
            let missing = uploads
                .iter()
                .any(|(d, acked)| *acked && !listed.contains(d));
            if !missing {
                break listed;
            }
            assert!(
                Instant::now() < deadline,
                "{url} misses acknowledged uploads"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    for (digest, acknowledged) in uploads {
        let file = client
            .get(format!("{url}/files/{digest}"))
            .send()
            .await
            .unwrap();
        if listed.contains(digest) {
            assert_eq!(file.status(), 200, "{url}: {digest} listed without bytes");
            assert_eq!(&sha256_hex(&file.bytes().await.unwrap()), digest);
        } else {
            assert!(!acknowledged, "{url}: {digest} answered Added, then lost");
            assert_eq!(file.status(), 404, "{url}: {digest} bytes without listing");
        }
    }
}

/// The log through `url`: `cairn log verify` passes, and its publications are exactly the
/// listed artifacts, each once.
async fn check_log(url: &str, key: &str, uploads: &HashMap<String, bool>) {
    let out = cairn()
        .args([
            "log",
            "verify",
            "--tiles",
            &format!("{url}/log"),
            "--key",
            key,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cairn log verify: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let checkpoint = reqwest::get(format!("{url}/log/checkpoint"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let size: u64 = checkpoint.lines().nth(1).unwrap().parse().unwrap();
    let mut published = HashSet::new();
    for i in 0..size {
        let entry = get_json(&format!("{url}/log/entries/{i}")).await;
        let digest = entry["entry"]["digest"].as_str().unwrap().to_owned();
        assert!(published.insert(digest.clone()), "{digest} logged twice");
    }
    let listed = listed(url).await;
    assert_eq!(published, listed, "log and index disagree");
    for (digest, acknowledged) in uploads {
        assert!(
            !acknowledged || published.contains(digest),
            "{digest} not logged"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_agree_and_survive_losing_the_leader() {
    let cluster = Cluster {
        dir: tempfile::tempdir().unwrap(),
        database: cairn_testkit::pg::database_url().await,
        bucket: cairn_testkit::s3::bucket().await,
    };
    let first = cluster.start(0);
    let mut instances = [Some(first), Some(cluster.start(1)), Some(cluster.start(2))];
    let key = String::from_utf8(
        crate::util::ok(cairn().args(["log", "key", "--log-key"]).arg(cluster.key())).stdout,
    )
    .unwrap()
    .trim()
    .to_owned();
    let client = reqwest::Client::new();
    let mut uploads: HashMap<String, bool> = HashMap::new();

    // Uploads through each instance; every instance lists and serves all of them.
    let mut tag = 0u64;
    for served in instances.iter().flatten() {
        for _ in 0..3 {
            tag += 1;
            let bytes = plugin(30_000, tag);
            let digest = sha256_hex(&bytes);
            let answer = upload(&client, &served.url, TOKEN, bytes).await.unwrap();
            assert_eq!(
                answer,
                (200, "\"Added\"".to_owned()),
                "through {}",
                served.url
            );
            uploads.insert(digest, true);
        }
    }
    for served in instances.iter().flatten() {
        check_everywhere(&served.url, &uploads).await;
    }

    // A stream of uploads through all three; the leader dies in the middle of it.
    let live: Vec<&Served> = instances.iter().flatten().collect();
    let doomed = leader(&live).await;
    let urls: Vec<String> = live.iter().map(|s| s.url.clone()).collect();
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    let count = 45u64;
    let mut through = HashMap::new();
    for i in 0..count {
        tag += 1;
        // Some multi-megabyte uploads, so the kill lands while bytes are still arriving.
        let size = if i % 5 == 0 { 12 << 20 } else { 30_000 };
        let bytes = plugin(size, tag);
        let digest = sha256_hex(&bytes);
        uploads.insert(digest.clone(), false);
        through.insert(digest.clone(), i as usize % 3);
        let (client, url, done) = (
            client.clone(),
            urls[i as usize % 3].clone(),
            done_tx.clone(),
        );
        tokio::spawn(async move {
            let ok = matches!(upload(&client, &url, TOKEN, bytes).await,
                Ok((200, body)) if body == "\"Added\"");
            let _ = done.send((digest, ok, Instant::now()));
        });
    }
    drop(done_tx);
    let mut answered = Vec::new();
    while answered.iter().filter(|(_, ok, _)| *ok).count() < 8 {
        answered.push(done_rx.recv().await.unwrap());
    }
    instances[doomed].take().unwrap().kill9();
    let killed_at = Instant::now();
    while let Some(result) = done_rx.recv().await {
        answered.push(result);
    }
    let waited = killed_at.elapsed();
    for (digest, ok, _) in &answered {
        if *ok {
            uploads.insert(digest.clone(), true);
        }
    }
    let survivors: Vec<&Served> = instances.iter().flatten().collect();
    assert_eq!(survivors.len(), 2);
    let new_leader = leader(&survivors).await;
    let acknowledged_after_kill = answered
        .iter()
        .filter(|(_, ok, at)| *ok && *at > killed_at)
        .count();
    eprintln!(
        "leader {doomed} killed; instance {new_leader} of the survivors leads; \
         {acknowledged_after_kill} acknowledged in the {waited:?} after the kill; \
         {} of {count} acknowledged",
        answered.iter().filter(|(_, ok, _)| *ok).count()
    );
    // Uploads through the survivors that were waiting when the leader died were
    // acknowledged: another instance took over sequencing and covered them.
    let after_kill_through_survivors = answered
        .iter()
        .filter(|(d, ok, at)| *ok && *at > killed_at && through[d] != doomed)
        .count();
    assert!(
        after_kill_through_survivors > 0,
        "no upload through a survivor was answered after the kill"
    );
    assert!(
        answered
            .iter()
            .any(|(d, ok, _)| !*ok && through[d] == doomed),
        "every upload through the leader finished before the kill: the kill proved nothing"
    );
    // After the takeover every survivor takes new uploads.
    for served in &survivors {
        tag += 1;
        let bytes = plugin(30_000, tag);
        let digest = sha256_hex(&bytes);
        let answer = upload(&client, &served.url, TOKEN, bytes).await.unwrap();
        assert_eq!(answer, (200, "\"Added\"".to_owned()), "after the takeover");
        uploads.insert(digest, true);
    }
    for served in &survivors {
        check_everywhere(&served.url, &uploads).await;
        check_log(&served.url, &key, &uploads).await;
    }
}
