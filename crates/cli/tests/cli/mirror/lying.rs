//! An upstream that lies to the mirror: other bytes, a swapped signature, a proof that
//! does not verify, a signature the upstream trust policy refuses, and a forked log signed
//! with the upstream's own key. Each is refused with 502 and its reason, counted by check,
//! and nothing of it is kept: the same digest fetched honestly afterwards is served.

use base64::Engine as _;
use serde_json::json;

use super::http::{get, metric};
use super::{json, mirror, pull};
use crate::lies::{Lie, ORIGIN, Setup, TOKEN, setup};
use crate::pull::{client, s, stdout};
use crate::util::{Served, cairn, file_names, fixture, ok, plugin};

/// GET `/files/{digest}` from the mirror: it must be 502 naming `why`, counted under
/// `check`, with no record kept.
fn refused(w: &Setup, m: &Served, digest: &str, check: &str, why: &str) {
    let before = failures(m, check);
    let (status, _, body) = get(&m.url, &format!("/files/{digest}"));
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, 502, "{check}: {body}");
    assert!(
        body.contains(why) && body.contains("nothing was cached"),
        "{check}: {body}"
    );
    assert_eq!(failures(m, check), before + 1.0, "{check} is counted");
    assert!(
        !w.path("mirror/mirror/files")
            .join(format!("{digest}.json"))
            .exists()
    );
    assert!(!w.path("mirror/mirror/files").join(digest).exists());
    eprintln!("{check}: {body}");
}

fn failures(m: &Served, check: &str) -> f64 {
    metric(
        &get(&m.url, "/metrics").2,
        &format!("cairn_mirror_verification_failures_total{{check=\"{check}\"}}"),
    )
}

/// A second registry whose log forked from the setup's: the same log key and origin,
/// other entries (more of them).
fn forked(w: &Setup) -> (Served, String) {
    let data = w.path("forked");
    std::fs::create_dir_all(data.join("keys")).unwrap();
    std::fs::copy(w.path("data/keys/log.pem"), data.join("keys/log.pem")).unwrap();
    let b = Served::start(
        cairn(),
        &[
            "--addr",
            "127.0.0.1:0",
            "--data",
            s(&data),
            "--token",
            TOKEN,
            "--log-origin",
            ORIGIN,
            "--public-key",
            s(&w.path("alice.pem.pub")),
        ],
    );
    let mut last = String::new();
    for tag in 100..112 {
        let file = w.path(&format!("fork{tag}.so"));
        let bytes = plugin(20_000, tag);
        std::fs::write(&file, &bytes).unwrap();
        let out = ok(client(w.dir.path())
            .args(["push", s(&file), "--key", s(&w.path("alice.pem"))])
            .args(["--registry", &b.url, "--token", TOKEN]));
        assert!(stdout(&out).contains("Added"));
        last = crate::util::sha256_hex(&bytes);
    }
    (b, last)
}

#[test]
fn a_lying_upstream_is_refused_and_nothing_is_kept() {
    let w = setup();
    let digests: Vec<String> = (0..4)
        .map(|i| w.push(&format!("p{i}.so"), &plugin(30_000, 10 + i)))
        .collect();
    let multi = w.push("libmulti.so", &fixture("libmemflow_synthmulti.x86_64.so"));
    let m = mirror(&w, "mirror", &[]);

    // Other bytes under the digest, to the mirror and to a client pulling through it.
    w.lie(Lie::TamperBytes);
    refused(&w, &m, &digests[0], "bytes", "the bytes served hash to");
    let policy = w.policy("all.toml", &["synth*"], &[]);
    let r = pull(&w.path("home"), &m.url, "synthc", &policy, &w.path("out"));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        !r.status.success() && err.contains("502") && err.contains("hash to"),
        "{err}"
    );
    assert!(file_names(&w.path("out")).is_empty());

    // A signature other than the logged one.
    let multi_sig = json(&w.get(&format!("/files/{multi}/metadata")))["signature"].clone();
    w.lie(Lie::SwapSignature(multi_sig.as_str().unwrap().to_owned()));
    refused(&w, &m, &digests[1], "signature", "a swapped signature");

    // An inclusion proof with one hash changed.
    let mut proof = json(&w.get(&format!("/files/{}/proof", digests[2])));
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut first = b64.decode(proof["proof"][0].as_str().unwrap()).unwrap();
    first[0] ^= 1;
    proof["proof"][0] = json!(b64.encode(&first));
    w.lie(Lie::Proof(serde_json::to_vec(&proof).unwrap()));
    refused(&w, &m, &digests[2], "proof", "does not verify");

    // Honest again: every refused digest is fetched, verified and served.
    w.lie(Lie::Honest);
    for d in &digests[..3] {
        assert_eq!(get(&m.url, &format!("/files/{d}")).0, 200);
    }

    // A forked log, signed with the upstream's own key: refused against the checkpoint the
    // mirror verified before, and so is that log's checkpoint.
    let (b, in_fork) = forked(&w);
    w.lie(Lie::Elsewhere(b.url.clone()));
    refused(
        &w,
        &m,
        &in_fork,
        "checkpoint",
        "not consistent with the checkpoint of",
    );
    w.lie(Lie::Honest);
    assert_eq!(get(&m.url, &format!("/files/{}", digests[3])).0, 200);

    // With an upstream trust policy, a signer it does not allow for the plugin is refused.
    drop(m);
    let only_synthc = w.policy("only-synthc.toml", &["synthc"], &[]);
    let m = mirror(&w, "mirror", &["--upstream-trust", s(&only_synthc)]);
    refused(&w, &m, &multi, "signature", "refused by the trust policy");
    drop(b);
}
