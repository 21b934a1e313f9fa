//! `cairn serve --upstream`: a pull-through mirror in front of a real `cairn serve` (through
//! the proxy of `lies/proxy.rs`, which can lie or forward to a forked registry). What the
//! mirror serves must be what the upstream serves, proven under the upstream's log key; it
//! must keep serving what it holds with the upstream gone, and refuse every lie, caching
//! nothing of it.

mod http;
mod local;
mod lying;

use std::path::Path;

use serde_json::Value;

use crate::lies::{Setup, setup};
use crate::pull::{client, s};
use crate::util::{Served, cairn, file_names, fixture, ok, plugin};
use http::{get, metric, post};

/// A mirror of the setup's proxy, its data in `name`.
pub(crate) fn mirror(w: &Setup, name: &str, extra: &[&str]) -> Served {
    let data = w.path(name);
    let mut args = vec![
        "--addr",
        "127.0.0.1:0",
        "--data",
        s(&data),
        "--upstream",
        &w.proxy_url,
        "--upstream-log-key",
        &w.vkey,
    ];
    args.extend_from_slice(extra);
    Served::start(cairn(), &args)
}

/// `cairn pull SPEC` from `registry` with a fresh client state (`home`).
pub(crate) fn pull(
    home: &Path,
    registry: &str,
    spec: &str,
    policy: &Path,
    out: &Path,
) -> std::process::Output {
    client(home)
        .args(["pull", spec, "--trust", s(policy), "--out", s(out)])
        .args(["--registry", registry])
        .output()
        .unwrap()
}

pub(crate) fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

#[test]
fn a_mirror_serves_the_upstreams_bytes_and_proofs_and_outlives_it() {
    let mut w = setup();
    let synthc = w.push("libsynthc.so", &plugin(40_000, 1));
    let multi = w.push("libmulti.so", &fixture("libmemflow_synthmulti.x86_64.so"));
    let policy = w.policy("all.toml", &["synth*"], &[]);
    let m = mirror(&w, "mirror", &["--upstream-ttl", "1"]);

    // cairn pull through the mirror and from the upstream: the same files, byte for byte,
    // and the client's checks under the upstream's log key pass both ways.
    for (registry, out) in [(&m.url, "via-mirror"), (&w.served.url, "direct")] {
        let home = w.path(&format!("home-{out}"));
        let r = pull(&home, registry, "synthc", &policy, &w.path(out));
        assert!(
            r.status.success(),
            "{out}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
    }
    let files = file_names(&w.path("via-mirror"));
    assert_eq!(files, [format!("{synthc}.meta"), format!("{synthc}.so")]);
    assert_eq!(files, file_names(&w.path("direct")));
    for f in &files {
        assert_eq!(
            std::fs::read(w.path("via-mirror").join(f)).unwrap(),
            std::fs::read(w.path("direct").join(f)).unwrap(),
            "{f}"
        );
    }

    // The same answers: listing, metadata, proof, checkpoint, tiles, consistency.
    for path in [
        "/plugins".to_owned(),
        "/plugins/synthc?limit=5".to_owned(),
        format!("/files/{synthc}/metadata"),
        format!("/files/{synthc}/proof"),
        format!("/files/{synthc}"),
        "/log/checkpoint".to_owned(),
        "/log/tile/0/000.p/2".to_owned(),
        "/log/tile/entries/000.p/2".to_owned(),
        "/log/entries/1".to_owned(),
        "/log/proof/inclusion?index=0&size=2".to_owned(),
        "/log/proof/consistency?from=1&to=2".to_owned(),
    ] {
        let (status, _, body) = get(&m.url, &path);
        assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
        assert_eq!(body, w.get(&path), "{path} differs from the upstream's");
    }
    // A mirror publishes nothing.
    let (status, body) = post(&m.url, "/files");
    assert_eq!(status, 405);
    assert!(body.contains(&w.proxy_url), "{body}");
    // What it does not mirror, it says so, naming the upstream.
    for path in ["/packages", "/efi", "/ui/plugins"] {
        let (status, _, body) = get(&m.url, path);
        let body = String::from_utf8_lossy(&body);
        assert_eq!(status, 404, "{path}");
        assert!(
            body.contains("is not mirrored") && body.contains(&w.proxy_url),
            "{body}"
        );
    }
    let metrics = get(&m.url, "/metrics").2;
    assert_eq!(metric(&metrics, "cairn_mirror_cache_misses_total"), 1.0);
    assert!(metric(&metrics, "cairn_mirror_cache_hits_total") >= 4.0);

    // The upstream stops: what the mirror fetched is still served (listings marked stale),
    // a miss is 503 naming the upstream.
    w.served.child.kill().unwrap();
    w.served.child.wait().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let home = w.path("home-after");
    let r = pull(&home, &m.url, "synthc", &policy, &w.path("after"));
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(file_names(&w.path("after")), files);
    let (status, headers, _) = get(&m.url, "/plugins/synthc?limit=5");
    assert_eq!(status, 200);
    assert!(
        headers
            .get("warning")
            .is_some_and(|v| v.to_str().unwrap().starts_with("110"))
    );
    let (status, _, body) = get(&m.url, &format!("/files/{multi}"));
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains(&w.proxy_url) && body.contains("unreachable"),
        "{body}"
    );
    let r = pull(&home, &m.url, "synthmulti", &policy, &w.path("after-multi"));
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("503"));

    // Restarted with the upstream still down, it serves everything it held, from disk.
    drop(m);
    let m = mirror(&w, "mirror", &[]);
    let r = pull(
        &w.path("home-restart"),
        &m.url,
        "synthc",
        &policy,
        &w.path("restart"),
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(file_names(&w.path("restart")), files);
    let metrics = get(&m.url, "/metrics").2;
    assert!(metric(&metrics, "cairn_mirror_upstream_errors_total") >= 1.0);
}

#[test]
fn mirror_sync_verifies_the_whole_log_and_fetches_what_matches() {
    let w = setup();
    let synthc = w.push("libsynthc.so", &plugin(30_000, 2));
    let multi = w.push("libmulti.so", &fixture("libmemflow_synthmulti.x86_64.so"));
    let gone = w.push("libgone.so", &plugin(30_000, 3));
    ok(client(w.dir.path()).args([
        "rm",
        &gone,
        "--registry",
        &w.served.url,
        "--token",
        crate::lies::TOKEN,
    ]));
    let data = w.path("synced");
    let sync = |names: &[&str]| {
        let mut cmd = cairn();
        cmd.args(["mirror", "sync", "--data", s(&data)]).args([
            "--upstream",
            &w.proxy_url,
            "--upstream-log-key",
            &w.vkey,
        ]);
        for n in names {
            cmd.args(["--name", n]);
        }
        String::from_utf8(ok(&mut cmd).stdout).unwrap()
    };
    // Four entries: three publications and a deletion.
    assert_eq!(
        sync(&["synthm*"]).trim(),
        "verified 4 log entries; 1 artifacts live, 1 fetched now"
    );
    assert_eq!(
        sync(&[]).trim(),
        "verified 4 log entries; 2 artifacts live, 1 fetched now"
    );
    // The deleted artifact was not fetched; the others are served with the upstream gone.
    drop(w.served);
    let w_dir = w.dir;
    let m = Served::start(
        cairn(),
        &[
            "--addr",
            "127.0.0.1:0",
            "--data",
            s(&data),
            "--upstream",
            "http://127.0.0.1:9",
            "--upstream-log-key",
            &w.vkey,
        ],
    );
    for d in [&synthc, &multi] {
        assert_eq!(get(&m.url, &format!("/files/{d}/proof")).0, 200);
    }
    assert_eq!(get(&m.url, &format!("/files/{gone}")).0, 503);
    // Every entry bundle was kept: the whole log is served.
    assert_eq!(get(&m.url, "/log/tile/entries/000.p/4").0, 200);
    drop(w_dir);
}

#[test]
fn with_mirror_log_every_entry_is_kept_and_served_without_the_upstream() {
    let mut w = setup();
    for tag in 20..23 {
        w.push(&format!("p{tag}.so"), &plugin(20_000, tag));
    }
    let entries: Vec<Vec<u8>> = (0..3)
        .map(|i| w.get(&format!("/log/entries/{i}")))
        .collect();
    let m = mirror(&w, "mirror", &["--mirror-log"]);
    let bundle = w.path("mirror/mirror/log/tile/entries/000.p/3");
    for _ in 0..100 {
        if bundle.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        bundle.exists(),
        "the mirror keeps the whole log without being asked"
    );
    w.served.child.kill().unwrap();
    w.served.child.wait().unwrap();
    for (i, e) in entries.iter().enumerate() {
        let (status, _, body) = get(&m.url, &format!("/log/entries/{i}"));
        assert_eq!((status, &body), (200, e), "entry {i}");
    }
    let ready = json(&get(&m.url, "/ready").2);
    assert_eq!(ready["log_size"], 3);
}

#[test]
fn an_artifact_deleted_upstream_stops_being_served() {
    let w = setup();
    let gone = w.push("gone.so", &plugin(20_000, 30));
    let kept = w.push("kept.so", &plugin(20_000, 31));
    let m = mirror(&w, "mirror", &["--upstream-ttl", "1"]);
    for d in [&gone, &kept] {
        assert_eq!(get(&m.url, &format!("/files/{d}")).0, 200);
    }
    ok(client(w.dir.path()).args([
        "rm",
        &gone,
        "--registry",
        &w.served.url,
        "--token",
        crate::lies::TOKEN,
    ]));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    // Taking the checkpoint that logs the deletion makes the mirror forget the artifact.
    let (status, _, checkpoint) = get(&m.url, "/log/checkpoint");
    assert_eq!(status, 200);
    assert_eq!(checkpoint, w.get("/log/checkpoint"));
    assert!(
        !w.path("mirror/mirror/files")
            .join(format!("{gone}.json"))
            .exists()
    );
    assert!(!w.path("mirror/mirror/files").join(&gone).exists());
    assert_eq!(get(&m.url, &format!("/files/{gone}")).0, 404);
    assert_eq!(get(&m.url, &format!("/files/{kept}")).0, 200);
}
