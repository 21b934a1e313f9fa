//! `cairn scan`: record, diff, verify, sign, push, baseline from a registry.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;

use crate::util::{Served, cairn, fixtures, pub_key, serve_args};

fn scan_to(root: &Path, out: &Path) -> std::process::Output {
    cairn()
        .args(["scan"])
        .arg(root)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn scan_diff_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tree");
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    std::fs::write(root.join("usr/bin/tool"), b"tool").unwrap();
    let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    let out = scan_to(&root, &a);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let same = cairn()
        .args(["scan", "diff"])
        .arg(&a)
        .arg(&a)
        .output()
        .unwrap();
    assert_eq!(same.status.code(), Some(0));

    std::fs::set_permissions(
        root.join("usr/bin/tool"),
        std::fs::Permissions::from_mode(0o4755),
    )
    .unwrap();
    std::fs::write(root.join("added"), b"x").unwrap();
    assert!(scan_to(&root, &b).status.success());
    let out = cairn()
        .args(["scan", "diff"])
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with("!! SETUID") && first.contains("usr/bin/tool"),
        "flagged change not first: {text}"
    );
    assert!(
        text.contains("added") && text.contains("2 changed"),
        "{text}"
    );

    let json = cairn()
        .args(["scan", "diff", "--json"])
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["changes"][0]["flags"][0], "setuid");

    let missing = cairn()
        .args(["scan", "diff"])
        .arg(&a)
        .arg(dir.path().join("nope"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let full = std::fs::read(&b).unwrap();
    std::fs::write(&b, &full[..full.len() - 30]).unwrap();
    let truncated = cairn().args(["scan", "verify"]).arg(&b).output().unwrap();
    assert_eq!(truncated.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&truncated.stderr).contains("integrity"),
        "{}",
        String::from_utf8_lossy(&truncated.stderr)
    );
}

/// An unreadable file is recorded with its error, not skipped; the exit code says so.
#[test]
fn unreadable_entries_are_recorded_not_skipped() {
    assert_eq!(
        std::fs::metadata("/proc/self")
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
            .unwrap(),
        0,
        "run as root: the test drops to uid 65534"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let root = dir.path().join("tree");
    std::fs::create_dir_all(root.join("locked")).unwrap();
    std::fs::write(root.join("secret"), b"s").unwrap();
    std::fs::write(root.join("public"), b"p").unwrap();
    std::fs::write(root.join("locked/inner"), b"i").unwrap();
    std::fs::set_permissions(root.join("secret"), std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::set_permissions(root.join("locked"), std::fs::Permissions::from_mode(0o700)).unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    std::os::unix::fs::chown(&out_dir, Some(65534), Some(65534)).unwrap();
    let out_file = out_dir.join("scan.jsonl");
    let out = cairn()
        .args(["scan"])
        .arg(&root)
        .arg("--out")
        .arg(&out_file)
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&out_file).unwrap();
    let record = |name: &str| -> serde_json::Value {
        let path = root.join(name).display().to_string();
        text.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|v| v["path"] == path.as_str())
            .unwrap()
    };
    assert_eq!(record("secret")["error"], "permission denied (open)");
    assert_eq!(
        record("secret")["mode"].as_u64().unwrap() & 0o777,
        0,
        "metadata still recorded"
    );
    assert!(record("secret")["sha256"].is_null());
    assert_eq!(record("locked")["error"], "permission denied (list)");
    assert!(record("public")["sha256"].is_string());
    assert!(record("public")["error"].is_null());
}

#[tokio::test]
async fn sign_verify_push_and_baseline_from_the_registry() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tree");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("f"), b"f").unwrap();
    let scan = dir.path().join("s.jsonl");
    assert!(scan_to(&root, &scan).status.success());
    let key = fixtures().join("test-keys/fixture-test-priv-key.pem");

    let out = cairn()
        .args(["scan", "sign"])
        .arg(&scan)
        .arg("--key")
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sig = dir.path().join("s.jsonl.sig");
    let out = cairn()
        .args(["scan", "verify"])
        .arg(&scan)
        .arg("--signature")
        .arg(&sig)
        .arg("--key")
        .arg(pub_key())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("signature OK"));
    let stranger = dir.path().join("other.pem");
    std::fs::write(&stranger, cairn_sign_pub()).unwrap();
    let out = cairn()
        .args(["scan", "verify"])
        .arg(&scan)
        .arg("--signature")
        .arg(&sig)
        .arg("--key")
        .arg(&stranger)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    let data = dir.path().join("data");
    let args = serve_args(&data, "scan-token", &pub_key());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let served = Served::start(cairn(), &args);
    let push = |token: &str| {
        cairn()
            .args(["scan", "push"])
            .arg(&scan)
            .args(["--registry", &served.url, "--token", token])
            .arg("--key")
            .arg(&key)
            .output()
            .unwrap()
    };
    assert_eq!(push("wrong").status.code(), Some(2));
    let out = push("scan-token");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let added: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(added["outcome"], "Added");
    let digest = added["digest"].as_str().unwrap().to_owned();
    let host = added["host"].as_str().unwrap().to_owned();
    // The scan is committed to the transparency log.
    let index = added["log_index"]
        .as_u64()
        .expect("scan without a log index");
    let entry: serde_json::Value = reqwest::get(format!("{}/log/entries/{index}", served.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(entry["entry"]["kind"], "scan");
    assert_eq!(entry["entry"]["scan"]["digest"], digest.as_str());
    assert_eq!(entry["entry"]["scan"]["host"], host.as_str());

    let listed: serde_json::Value = reqwest::get(format!("{}/scans?host={host}", served.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["scans"][0]["digest"], digest.as_str());
    assert_eq!(listed["scans"][0]["entries"], 2);
    let none: serde_json::Value = reqwest::get(format!("{}/scans?host=elsewhere", served.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(none["scans"].as_array().unwrap().len(), 0);

    std::fs::write(root.join("f"), b"changed").unwrap();
    let now = dir.path().join("now.jsonl");
    assert!(scan_to(&root, &now).status.success());
    let vkey = cairn()
        .args(["log", "key", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    let vkey = String::from_utf8_lossy(&vkey.stdout).trim().to_owned();
    let out = cairn()
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .args([
            "scan",
            "diff",
            "--baseline",
            &format!("{}/scans/{digest}", served.url),
        ])
        .arg("--key")
        .arg(pub_key())
        .args(["--log-key", &vkey])
        .arg(&now)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("content"));

    // A tampered scan is refused by the registry even with a valid signature over it.
    let mut bytes = std::fs::read(&scan).unwrap();
    let at = bytes.iter().position(|&b| b == b'f').unwrap();
    bytes[at] = b'g';
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, &bytes).unwrap();
    let out = cairn()
        .args(["scan", "push"])
        .arg(&bad)
        .args(["--registry", &served.url, "--token", "scan-token"])
        .arg("--key")
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// A public key that is not the fixture's.
fn cairn_sign_pub() -> String {
    "-----BEGIN PUBLIC KEY-----\nMFYwEAYHKoZIzj0CAQYFK4EEAAoDQgAEN4IXKgL7KAXBRhJ5dv1ai0Rp5YtXFSde\nCNCWIY3o5LXbHyJgmLQtk0pcSRPw7XinAjMgEE2EJHG8yTgLYRc2Dw==\n-----END PUBLIC KEY-----\n".into()
}

/// Two copies of one system mounted at different places (an initramfs's /sysroot, a
/// rescue mount): scanned with --root, they compare equal, and a change in one is named by
/// the path the system itself knows.
#[test]
fn scans_under_root_compare_across_mount_points() {
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("sysroot"), dir.path().join("mnt/rescue"));
    for root in [&one, &two] {
        std::fs::create_dir_all(root.join("usr/bin")).unwrap();
        std::fs::write(root.join("usr/bin/tool"), b"tool").unwrap();
        std::fs::set_permissions(
            root.join("usr/bin/tool"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
    }
    let scan = |root: &Path, out: &Path| {
        let status = cairn()
            .args(["scan", "/usr", "--root"])
            .arg(root)
            .arg("--out")
            .arg(out)
            .status()
            .unwrap();
        assert!(status.success());
    };
    let (a, b) = (dir.path().join("a.scan"), dir.path().join("b.scan"));
    scan(&one, &a);
    std::fs::set_permissions(
        two.join("usr/bin/tool"),
        std::fs::Permissions::from_mode(0o4755),
    )
    .unwrap();
    scan(&two, &b);
    let out = cairn()
        .args(["scan", "diff"])
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("1 changed: 0 added, 0 removed"),
        "only the setuid change: {text}"
    );
    assert!(
        text.starts_with("!! SETUID") && text.contains(" /usr/bin/tool"),
        "{text}"
    );
}
