//! A data directory whose log contradicts itself or its index is refused at start, with a
//! message that says what is wrong and how to recover, and nothing is written: the log is
//! never restarted over existing tiles, and no second history is signed with its key.

use std::path::Path;
use std::time::Duration;

use crate::util::{Served, cairn, plugin, pub_key, serve_args, upload};

pub(crate) const TOKEN: &str = "damage-token";

pub(crate) fn start(data: &Path) -> Served {
    let args = serve_args(data, TOKEN, &pub_key());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Served::start(cairn(), &args)
}

/// A server over `data` holding one artifact, and a client for it.
pub(crate) async fn serving_one(data: &Path) -> (Served, reqwest::Client) {
    let served = start(data);
    let http = reqwest::Client::new();
    let (status, _) = upload(&http, &served.url, TOKEN, plugin(20_000, 1))
        .await
        .unwrap();
    assert_eq!(status, 200);
    (served, http)
}

/// `cairn serve` must exit non-zero, saying `why`; its stderr.
fn refused(data: &Path, why: &str) -> String {
    let args = serve_args(data, TOKEN, &pub_key());
    let mut child = cairn()
        .arg("serve")
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "the server started");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{err}");
    assert!(!err.contains("listening on"), "{err}");
    assert!(err.contains(why), "expected {why:?} in: {err}");
    err
}

/// Every file under `dir`, with its bytes.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_log_that_contradicts_its_checkpoint_or_index_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = data.join("log");
    let served = start(&data);
    let http = reqwest::Client::new();
    for i in 0..3 {
        let (status, _) = upload(&http, &served.url, TOKEN, plugin(20_000, i))
            .await
            .unwrap();
        assert_eq!(status, 200);
    }
    let three = std::fs::read(log.join("checkpoint")).unwrap();
    for i in 3..5 {
        let (status, _) = upload(&http, &served.url, TOKEN, plugin(20_000, i))
            .await
            .unwrap();
        assert_eq!(status, 200);
    }
    served.kill9();
    let five = std::fs::read(log.join("checkpoint")).unwrap();
    let key = std::fs::read(data.join("keys/log.pem")).unwrap();

    // The checkpoint is gone, the tiles are there: refused, nothing written.
    std::fs::remove_file(log.join("checkpoint")).unwrap();
    let before = snapshot(&log);
    refused(&data, "there are entry tiles but no checkpoint");
    assert_eq!(snapshot(&log), before, "the refused start wrote to the log");

    // An older checkpoint than the index: refused, nothing written.
    std::fs::write(log.join("checkpoint"), &three).unwrap();
    let before = snapshot(&log);
    refused(
        &data,
        "the index reflects 5 transparency-log entries, but the log holds 3",
    );
    assert_eq!(snapshot(&log), before);

    // The whole log gone while the index lists five artifacts: no new log is started.
    let aside = dir.path().join("log-aside");
    std::fs::rename(&log, &aside).unwrap();
    refused(
        &data,
        "the index reflects 5 transparency-log entries, but the log holds 0",
    );
    assert!(
        !log.join("checkpoint").exists(),
        "a new, empty log was signed"
    );
    let _ = std::fs::remove_dir_all(&log);
    std::fs::rename(&aside, &log).unwrap();
    std::fs::write(log.join("checkpoint"), &five).unwrap();

    // The log key removed: refused without generating a new one.
    std::fs::remove_file(data.join("keys/log.pem")).unwrap();
    refused(&data, "the log key");
    refused(&data, "is missing, but the transparency log is signed by");
    assert!(!data.join("keys/log.pem").exists(), "a key was generated");
    // Another key in its place: the message says the key changed.
    let other = dir.path().join("other.pem");
    crate::util::ok(
        cairn()
            .args(["keygen", "--algo", "ed25519", "--out"])
            .arg(&other),
    );
    std::fs::copy(&other, data.join("keys/log.pem")).unwrap();
    refused(&data, "the log key changed");

    std::fs::write(data.join("keys/log.pem"), &key).unwrap();

    // One byte changed inside a logged entry: refused at start and by reindex.
    let tail = log.join("tile/entries/000.p/5");
    let good_tail = std::fs::read(&tail).unwrap();
    let mut altered = good_tail.clone();
    let at = altered
        .windows(10)
        .position(|w| w == b"created_ns")
        .unwrap();
    altered[at + 13] ^= 1;
    std::fs::write(&tail, &altered).unwrap();
    refused(
        &data,
        "log entry 0 in tile/entries/000.p/5 does not hash to its leaf",
    );
    let out = cairn()
        .args(["admin", "reindex", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not hash to its leaf"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&tail, &good_tail).unwrap();

    // Everything restored: it starts, serves the five, and the log verifies.
    let served = start(&data);
    let listed: serde_json::Value = http
        .get(format!("{}/plugins/synthc?limit=50", served.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["plugins"].as_array().unwrap().len(), 5);
    let (status, _) = upload(&http, &served.url, TOKEN, plugin(20_000, 9))
        .await
        .unwrap();
    assert_eq!(status, 200);
}

/// A log (signed by the registry's key, so every proof holds) with an entry that is no
/// registry entry: rebuilding the index from it is refused as corruption, not skipped.
#[test]
fn an_entry_the_registry_did_not_write_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let origin = "damage.test/log";
    let (signer, _) =
        cairn_tlog::keyfile::load_or_generate(&data.join("keys/log.pem"), origin).unwrap();
    let mut writer = cairn_tlog::LogWriter::open(
        cairn_tlog::DirStore::open(&data.join("log")).unwrap(),
        signer,
    )
    .unwrap();
    writer
        .append(&[br#"{"kind":"bogus","digest":"00"}"#.to_vec()])
        .unwrap();
    drop(writer);
    let out = cairn()
        .args(["admin", "reindex", "--log-origin", origin, "--data"])
        .arg(&data)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("log entry 0 is not a registry entry"), "{err}");
}

/// A change that reached the log but not the index (another process holds the index's
/// write lock): the client is told it is recorded, writes pause (503) rather than log
/// anything twice, and once the index is writable again the retry answers AlreadyExists.
#[tokio::test(flavor = "multi_thread")]
async fn a_logged_upload_whose_index_write_failed_is_never_logged_twice() {
    use sqlx::Connection as _;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (served, http) = serving_one(&data).await;
    let size = || async {
        let text = http
            .get(format!("{}/log/checkpoint", served.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines().nth(1).unwrap().parse::<u64>().unwrap()
    };
    assert_eq!(size().await, 1);

    // Another process takes the index's write lock and keeps it.
    let url = format!("sqlite://{}", data.join("index.db").display());
    let mut holder = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .unwrap();

    let second = plugin(20_000, 2);
    let (status, text) = upload(&http, &served.url, TOKEN, second.clone())
        .await
        .unwrap();
    assert_eq!(status, 503, "{text}");
    assert!(
        text.contains("recorded as log entry 1, but the index could not be updated"),
        "{text}"
    );
    assert_eq!(size().await, 2, "the upload is in the log");
    // Meanwhile every write is refused, and nothing more is logged.
    let (status, text) = upload(&http, &served.url, TOKEN, second.clone())
        .await
        .unwrap();
    assert_eq!(status, 503, "{text}");
    assert!(text.contains("writes are paused"), "{text}");
    assert_eq!(size().await, 2, "a refused write was logged");
    let ready = http
        .get(format!("{}/ready", served.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let said: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(said["index_current"], false, "{said}");

    // The lock goes: the retry catches the index up and is not logged again.
    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    drop(holder);
    let (status, text) = upload(&http, &served.url, TOKEN, second).await.unwrap();
    assert_eq!((status, text.as_str()), (200, "\"AlreadyExists\""));
    assert_eq!(size().await, 2);
    let listed: serde_json::Value = http
        .get(format!("{}/plugins/synthc?limit=50", served.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["plugins"].as_array().unwrap().len(), 2);
}

/// The log cannot be written (its directory is read-only): the upload fails, its blob is
/// not left behind, and the same upload succeeds once the log is writable.
#[tokio::test(flavor = "multi_thread")]
async fn the_blob_of_an_unlogged_upload_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (served, http) = serving_one(&data).await;
    let log = data.join("log");
    let mount = |args: &[&str]| {
        let out = std::process::Command::new("mount")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mount {args:?} needs root (CI runs as root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let at = log.to_str().unwrap();
    mount(&["--bind", at, at]);
    mount(&["-o", "remount,ro,bind", at]);
    let bytes = plugin(20_000, 2);
    let digest = crate::util::sha256_hex(&bytes);
    let (status, text) = upload(&http, &served.url, TOKEN, bytes.clone())
        .await
        .unwrap();
    let _ = std::process::Command::new("umount").arg(at).status();
    assert_eq!(status, 500, "{text}");
    let blob = data.join("blobs/sha256").join(&digest[..2]).join(&digest);
    assert!(!blob.exists(), "the blob of an unlogged upload stayed");
    let (status, text) = upload(&http, &served.url, TOKEN, bytes).await.unwrap();
    assert_eq!((status, text.as_str()), (200, "\"Added\""));
    assert!(blob.exists());
}

/// Replaces every occurrence of `from` by `to` (same length) in a file; how many.
fn edit(path: &Path, from: &[u8], to: &[u8]) -> usize {
    let Ok(mut bytes) = std::fs::read(path) else {
        return 0;
    };
    let mut n = 0;
    let mut at = 0;
    while let Some(i) = bytes[at..].windows(from.len()).position(|w| w == from) {
        bytes[at + i..at + i + to.len()].copy_from_slice(to);
        at += i + to.len();
        n += 1;
    }
    std::fs::write(path, bytes).unwrap();
    n
}

/// `cairn admin verify` finds an index edited behind the log's back, a blob that no longer
/// hashes to its name and a blob nothing publishes (and removes that one on request).
#[tokio::test(flavor = "multi_thread")]
async fn admin_verify_scrubs_log_index_and_blobs_against_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let served = start(&data);
    let http = reqwest::Client::new();
    let mut digests = Vec::new();
    for i in 0..3 {
        let bytes = plugin(20_000, i);
        digests.push(crate::util::sha256_hex(&bytes));
        let (status, _) = upload(&http, &served.url, TOKEN, bytes).await.unwrap();
        assert_eq!(status, 200);
    }
    let meta: serde_json::Value = http
        .get(format!("{}/files/{}/metadata", served.url, digests[0]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    served.kill9();
    let verify = |extra: &[&str]| {
        cairn()
            .args(["admin", "verify", "--data"])
            .arg(&data)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = verify(&[]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("verified: 3 log entries, 3 artifacts"),
        "{text}"
    );

    // Everything into the database file itself (a killed server leaves it in the WAL, whose
    // frames carry checksums; the database's pages do not).
    {
        use sqlx::Connection as _;
        let url = format!("sqlite://{}", data.join("index.db").display());
        let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut db)
            .await
            .unwrap();
    }
    // A signature edited inside the index: the server would serve it as is.
    let signature = meta["signature"].as_str().unwrap().to_owned();
    let mut forged = signature.clone().into_bytes();
    let last = forged.len() - 1;
    forged[last] = if forged[last] == b'0' { b'1' } else { b'0' };
    let edited = edit(&data.join("index.db"), signature.as_bytes(), &forged);
    assert!(edited > 0, "the signature was not found in the index files");
    // A corrupted blob, and an orphan.
    let blob = |d: &str| data.join("blobs/sha256").join(&d[..2]).join(d);
    let mut bytes = std::fs::read(blob(&digests[1])).unwrap();
    bytes[500] ^= 1;
    std::fs::write(blob(&digests[1]), bytes).unwrap();
    let orphan_bytes = plugin(20_000, 99);
    let orphan = crate::util::sha256_hex(&orphan_bytes);
    std::fs::create_dir_all(blob(&orphan).parent().unwrap()).unwrap();
    std::fs::write(blob(&orphan), &orphan_bytes).unwrap();

    let out = verify(&[]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "MISMATCH index: artifact {} differs from its log entry 0: signature",
            digests[0]
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "MISMATCH blob {} is missing or does not hash to its name",
            digests[1]
        )),
        "{text}"
    );
    assert!(text.contains(&format!("orphan blob {orphan}")), "{text}");
    assert!(blob(&orphan).exists());
    let out = verify(&["--delete-orphans"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!blob(&orphan).exists(), "the orphan was not removed");
    assert!(blob(&digests[2]).exists(), "a published blob was removed");
}
