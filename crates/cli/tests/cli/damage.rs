//! A data directory whose log contradicts itself or its index is refused at start, with a
//! message that says what is wrong and how to recover, and nothing is written: the log is
//! never restarted over existing tiles, and no second history is signed with its key.

use std::path::Path;
use std::time::Duration;

use crate::util::{Served, cairn, plugin, pub_key, serve_args, upload};

const TOKEN: &str = "damage-token";

fn start(data: &Path) -> Served {
    let args = serve_args(data, TOKEN, &pub_key());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Served::start(cairn(), &args)
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

    // Everything restored: it starts, serves the five, and the log verifies.
    std::fs::write(data.join("keys/log.pem"), &key).unwrap();
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

/// A small tmpfs the test mounts (the tests run as root, as CI does); unmounted on drop.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(at: &Path, size: &str) -> SmallDisk {
        std::fs::create_dir_all(at).unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mounting a tmpfs needs root (CI runs as root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        SmallDisk(at.to_path_buf())
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// Fills the filesystem of `dir` to the last byte; the filler's path.
fn fill(dir: &Path) -> std::path::PathBuf {
    use std::io::Write as _;
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let block = vec![0u8; 64 * 1024];
    while f.write_all(&block).is_ok() {}
    for _ in 0..64 {
        let _ = f.write_all(&block[..512]);
    }
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn readiness_on_a_full_disk_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let _disk = SmallDisk::mount(&data, "4m");
    let served = start(&data);
    let http = reqwest::Client::new();
    let ready = || async {
        http.get(format!("{}/ready", served.url))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(ready().await, 200);
    let filler = fill(&data);
    for _ in 0..5 {
        assert_eq!(ready().await, 503);
    }
    let left: Vec<_> = std::fs::read_dir(data.join("staging"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "probe files left in staging: {left:?}");
    std::fs::remove_file(filler).unwrap();
    assert_eq!(ready().await, 200);
}
