//! The dependency rules of the workspace, checked on the resolved graph (`cargo tree`):
//! the client never links the registry or its storage, and the CLI has no HTTP client of its
//! own (everything it says over the network goes through cairn-client), and the boot agent
//! stays small, and the mirror verifies with the client and never links the registry.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeSet;

/// Names of the normal (non-dev, non-build) dependencies of `package`, to `depth` levels.
fn deps(package: &str, depth: Option<u32>) -> BTreeSet<String> {
    let mut cmd = std::process::Command::new(env!("CARGO"));
    cmd.args([
        "tree",
        "--offline",
        "--locked",
        "-e",
        "normal",
        "--prefix",
        "none",
    ])
    .args(["--format", "{p}", "-p", package])
    .current_dir(env!("CARGO_MANIFEST_DIR"));
    if let Some(d) = depth {
        cmd.args(["--depth", &d.to_string()]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|name| name != package)
        .collect()
}

#[test]
fn the_client_never_links_the_registry_or_its_storage() {
    let deps = deps("cairn-client", None);
    for forbidden in ["cairn-registry", "cairn-server", "sqlx", "object_store"] {
        assert!(
            !deps.contains(forbidden),
            "cairn-client depends on {forbidden}"
        );
    }
    assert!(deps.contains("reqwest"), "the client is the one HTTP user");
}

#[test]
fn the_cli_has_no_http_client_of_its_own() {
    let deps = deps("cairn", Some(1));
    for forbidden in ["reqwest", "hyper", "hyper-util", "ureq"] {
        assert!(
            !deps.contains(forbidden),
            "the cairn binary depends on {forbidden} itself"
        );
    }
    assert!(deps.contains("cairn-client"), "{deps:?}");
}

#[test]
fn the_wire_types_are_serde_only() {
    let deps = deps("cairn-api", Some(1));
    let expected: BTreeSet<String> = ["chrono", "serde", "serde_json"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(deps, expected);
}

#[test]
fn the_boot_agent_links_no_openpgp_server_or_registry() {
    // What dracut copies into an initramfs: scanner, keys, log proofs, one small HTTP client.
    let deps = deps("cairn-agent", None);
    for forbidden in [
        "pgp",
        "cairn-registry",
        "cairn-server",
        "cairn-client",
        "reqwest",
        "hyper",
        "axum",
        "sqlx",
        "object_store",
    ] {
        assert!(
            !deps.contains(forbidden),
            "cairn-agent depends on {forbidden}"
        );
    }
    for needed in ["cairn-scan", "cairn-sign", "cairn-tlog", "ureq"] {
        assert!(deps.contains(needed), "{deps:?}");
    }
}

#[test]
fn the_mirror_checks_with_the_client_and_never_links_the_registry() {
    let all = deps("cairn-mirror", None);
    for forbidden in ["cairn-registry", "cairn-server", "sqlx", "object_store"] {
        assert!(
            !all.contains(forbidden),
            "cairn-mirror depends on {forbidden}"
        );
    }
    let direct = deps("cairn-mirror", Some(1));
    assert!(
        direct.contains("cairn-client"),
        "the mirror verifies with the client's checks"
    );
    assert!(
        !direct.contains("reqwest"),
        "the mirror talks HTTP through cairn-client only"
    );
}
