//! A full disk (a small tmpfs the test mounts): refused writes are answered 507 and publish
//! nothing, readiness leaves nothing behind, and everything works again once there is room.

use std::path::Path;

use crate::damage::{TOKEN, serving_one, start};
use crate::util::{cairn, plugin, upload};

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

/// A full disk: the upload is answered 507 naming storage, nothing is published, and
/// the same upload succeeds once there is room.
#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_is_answered_507_and_publishes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let _disk = SmallDisk::mount(&data, "8m");
    let (served, http) = serving_one(&data).await;
    let checkpoint = std::fs::read(data.join("log/checkpoint")).unwrap();
    let filler = fill(&data);
    let bytes = plugin(200_000, 2);
    let (status, text) = upload(&http, &served.url, TOKEN, bytes.clone())
        .await
        .unwrap();
    assert_eq!(status, 507, "{text}");
    assert!(text.contains("insufficient storage"), "{text}");
    assert_eq!(
        std::fs::read(data.join("log/checkpoint")).unwrap(),
        checkpoint,
        "something was published"
    );
    std::fs::remove_file(filler).unwrap();
    let (status, text) = upload(&http, &served.url, TOKEN, bytes).await.unwrap();
    assert_eq!((status, text.as_str()), (200, "\"Added\""));
}

/// The log's own filesystem is full (the blob could be stored, the log entry cannot): 507
/// naming storage, the blob is not left behind, nothing is published, the server's log says
/// what failed, and once there is room the upload goes through and the log verifies.
#[tokio::test(flavor = "multi_thread")]
async fn a_full_log_disk_is_answered_507_and_publishes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let _disk = SmallDisk::mount(&data.join("log"), "1m");
    let (served, http) = serving_one(&data).await;
    let checkpoint = std::fs::read(data.join("log/checkpoint")).unwrap();
    let filler = fill(&data.join("log"));
    let bytes = plugin(20_000, 2);
    let digest = crate::util::sha256_hex(&bytes);
    let (status, text) = upload(&http, &served.url, TOKEN, bytes.clone())
        .await
        .unwrap();
    assert_eq!(status, 507, "{text}");
    assert!(text.contains("insufficient storage"), "{text}");
    assert_eq!(
        std::fs::read(data.join("log/checkpoint")).unwrap(),
        checkpoint
    );
    let blob = data.join("blobs/sha256").join(&digest[..2]).join(&digest);
    assert!(!blob.exists(), "the blob of the unlogged upload stayed");
    let said = served.stderr_text();
    assert!(said.contains("storage full"), "{said}");
    assert!(!said.contains("note verification failed"), "{said}");
    std::fs::remove_file(filler).unwrap();
    let (status, text) = upload(&http, &served.url, TOKEN, bytes).await.unwrap();
    assert_eq!((status, text.as_str()), (200, "\"Added\""));
    let vkey = String::from_utf8(
        crate::util::ok(cairn().args(["log", "key", "--data"]).arg(&data)).stdout,
    )
    .unwrap();
    crate::util::ok(
        cairn()
            .args(["log", "verify", "--key", vkey.trim(), "--tiles"])
            .arg(data.join("log")),
    );
}
