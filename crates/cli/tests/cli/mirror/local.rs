//! `--allow-local`: a mirror that also publishes. Its own plugins are listed beside the
//! mirrored ones and logged in its own log at `/local/log`, provable under its own key;
//! the upstream's log at `/log` is untouched, and mirrored plugins stay the upstream's.

use super::http::{delete, get, metric, post};
use super::{json, mirror, pull};
use crate::lies::setup;
use crate::pull::{s, stdout};
use crate::util::{cairn, file_names, fixture, ok, plugin};

const LOCAL_TOKEN: &str = "mirror-local-token";
const LOCAL_ORIGIN: &str = "mirror.test/log";

fn digests(listing: &serde_json::Value) -> Vec<String> {
    listing["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["digest"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn with_allow_local_the_mirror_publishes_its_own_plugins_in_its_own_log() {
    let mut w = setup();
    let multi = w.push("libmulti.so", &fixture("libmemflow_synthmulti.x86_64.so"));
    let up_synthc = w.push("up-synthc.so", &plugin(30_000, 50));
    let alice = w.path("alice.pem.pub");
    let m = mirror(
        &w,
        "mirror",
        &[
            "--allow-local",
            "--token",
            LOCAL_TOKEN,
            "--log-origin",
            LOCAL_ORIGIN,
            "--public-key",
            s(&alice),
            "--upstream-ttl",
            "1",
        ],
    );
    let mirror_vkey = stdout(&ok(cairn().args([
        "log",
        "key",
        "--data",
        s(&w.path("mirror")),
        "--log-origin",
        LOCAL_ORIGIN,
    ])))
    .trim()
    .to_owned();
    assert_ne!(mirror_vkey, w.vkey);

    // Uploads need the mirror's own token, and land in the mirror's own log.
    assert_eq!(post(&m.url, "/files").0, 401);
    let local_synthc = w.push_to(&m.url, LOCAL_TOKEN, "local-synthc.so", &plugin(30_000, 51));
    let upstream_checkpoint = w.get("/log/checkpoint");
    assert_eq!(get(&m.url, "/log/checkpoint").2, upstream_checkpoint);
    let own = String::from_utf8(get(&m.url, "/local/log/checkpoint").2).unwrap();
    assert!(own.starts_with(&format!("{LOCAL_ORIGIN}\n1\n")), "{own}");
    let proof = json(&get(&m.url, &format!("/files/{local_synthc}/proof")).2);
    assert_eq!(proof["log"], "/local/log");
    assert!(
        json(&w.get(&format!("/files/{multi}/proof")))
            .get("log")
            .is_none()
    );

    // One listing: every name of both sides; a name on both lists both sides' variants,
    // newest first, paged over the merge.
    let names: Vec<String> = json(&get(&m.url, "/plugins").2)["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    let upstream_names = json(&w.get("/plugins"))["plugins"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        names.len(),
        upstream_names,
        "synthc is on both sides: {names:?}"
    );
    assert!(names.contains(&"synthc".to_owned()));
    let both = json(&get(&m.url, "/plugins/synthc?limit=5").2);
    assert_eq!(digests(&both), [local_synthc.clone(), up_synthc.clone()]);
    let second = json(&get(&m.url, "/plugins/synthc?limit=1&skip=1").2);
    assert_eq!(digests(&second), std::slice::from_ref(&up_synthc));
    assert_eq!(second["skip"], 1);
    assert_eq!(get(&m.url, "/plugins/synthc?limit=50&skip=990").0, 400);

    // cairn pull: the local plugin proven under the mirror's key, twice so the second pull
    // proves consistency at /local/log; the mirrored one under the upstream's.
    let own_policy = w.policy_for("own.toml", &mirror_vkey, &["synth*"], &[]);
    let up_policy = w.policy("up.toml", &["synth*"], &[]);
    let home = w.path("home");
    let r = pull(&home, &m.url, "synthc", &own_policy, &w.path("own1"));
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(file_names(&w.path("own1")).contains(&format!("{local_synthc}.so")));
    let newer = w.push_to(&m.url, LOCAL_TOKEN, "newer.so", &plugin(30_000, 52));
    let r = pull(&home, &m.url, "synthc", &own_policy, &w.path("own2"));
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(file_names(&w.path("own2")).contains(&format!("{newer}.so")));
    let r = pull(&home, &m.url, "synthmulti", &up_policy, &w.path("up"));
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(file_names(&w.path("up")).contains(&format!("{multi}.so")));
    // The upstream's key never proves a local plugin.
    let r = pull(&home, &m.url, "synthc", &up_policy, &w.path("mixed"));
    assert!(!r.status.success());
    assert!(file_names(&w.path("mixed")).is_empty());
    assert_eq!(get(&m.url, "/log/checkpoint").2, upstream_checkpoint);

    // Deletes: local plugins with the token; mirrored ones are the upstream's to delete.
    assert_eq!(delete(&m.url, &format!("/files/{newer}"), None).0, 401);
    let (status, body) = delete(&m.url, &format!("/files/{multi}"), Some(LOCAL_TOKEN));
    assert_eq!(status, 405, "{body}");
    assert!(body.contains(&w.proxy_url), "{body}");
    let (status, body) = delete(&m.url, &format!("/files/{newer}"), Some(LOCAL_TOKEN));
    assert_eq!(status, 200, "{body}");
    assert_eq!(get(&m.url, &format!("/files/{newer}")).0, 404);
    let after = json(&get(&m.url, "/plugins/synthc?limit=5").2);
    assert_eq!(digests(&after), [local_synthc.clone(), up_synthc.clone()]);

    // The registry's other routes are the local registry's; the metrics are both sides'.
    assert_eq!(get(&m.url, "/ui/plugins").0, 200);
    let metrics = get(&m.url, "/metrics").2;
    assert!(metric(&metrics, "cairn_mirror_cache_misses_total") >= 1.0);
    assert!(String::from_utf8_lossy(&metrics).contains("cairn_http_requests_total"));

    // With the upstream gone, local plugins are still listed and served, marked so.
    w.served.child.kill().unwrap();
    w.served.child.wait().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (status, headers, body) = get(&m.url, "/plugins/synthc?limit=5");
    assert_eq!(status, 200);
    assert!(headers.get("warning").is_some());
    assert!(digests(&json(&body)).contains(&local_synthc));
    assert_eq!(get(&m.url, &format!("/files/{local_synthc}")).0, 200);
    let r = pull(&home, &m.url, "synthc", &own_policy, &w.path("own3"));
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
}
