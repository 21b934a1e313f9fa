//! `cairn inspect`.

use crate::util::{cairn, fixtures};

#[test]
fn prints_descriptors_and_json() {
    let out = cairn()
        .arg("inspect")
        .arg(fixtures().join("libmemflow_synthmulti.x86_64.so"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("os        synthos 0.9.0  abi 1  elf/x86_64  MEMFLOW_OS_SYNTHOS"),
        "{text}"
    );
    assert!(text.contains("connector synthmulti 0.9.0"), "{text}");

    let out = cairn()
        .args(["inspect", "--json"])
        .arg(fixtures().join("libmemflow_native.aarch64.dylib"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json[0]["export_name"], "_MEMFLOW_OS_NATIVE");
    assert_eq!(json[0]["version"], "0.2.2");
    assert_eq!(json[0]["architecture"], "arm64");
}

#[test]
fn failures_exit_non_zero_with_one_clear_line() {
    let out = cairn()
        .arg("inspect")
        .arg(fixtures().join("libnot_a_plugin.x86_64.so"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no plugin descriptors"));

    let out = cairn()
        .arg("inspect")
        .arg(fixtures().join("README.md"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("cairn: ") && err.contains("not a valid plugin binary"),
        "{err}"
    );

    let out = cairn()
        .args(["inspect", "/nonexistent/file"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("reading /nonexistent/file"));
}

#[test]
fn every_command_answers_help() {
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["inspect", "--help"],
    ] {
        let out = cairn().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(!out.stdout.is_empty());
    }
}
