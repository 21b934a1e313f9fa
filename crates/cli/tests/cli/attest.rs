//! `cairn attest add|get`, `cairn log search` and `cairn trust publish` against a real
//! `cairn serve`, with links made by the real in-toto 3.0.0 (`in-toto-run`) under RSA and
//! ECDSA keys made by openssl: what is logged is proven, what differs by one byte or was
//! never submitted is refused, and "everything key K signed, and what of it is still
//! served" is one command.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest as _, Sha256};

use crate::pull::{client, s, stdout};
use crate::util::{Served, cairn, fixtures, ok};

const TOKEN: &str = "attest-test-token";

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs a tool that must be installed (scripts/test installs them); fails clearly if not.
fn tool(program: &str, args: &[&str], dir: &Path) -> Output {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} cannot run ({e}): scripts/test installs it"));
    assert!(out.status.success(), "{program} {args:?}: {}", stderr(&out));
    out
}

/// An openssl key pair: the private key file, the public key file, and the key id (SHA-256
/// of the SPKI DER openssl writes).
fn keypair(dir: &Path, name: &str, genpkey: &[&str]) -> (PathBuf, PathBuf, String) {
    let private = dir.join(format!("{name}.key.pem"));
    let public = dir.join(format!("{name}.pub.pem"));
    let mut args = vec!["genpkey"];
    args.extend_from_slice(genpkey);
    args.extend_from_slice(&["-out", s(&private)]);
    tool("openssl", &args, dir);
    tool(
        "openssl",
        &["pkey", "-in", s(&private), "-pubout", "-out", s(&public)],
        dir,
    );
    let der = tool(
        "openssl",
        &["pkey", "-pubin", "-in", s(&public), "-outform", "DER"],
        dir,
    );
    (private, public, hex::encode(Sha256::digest(der.stdout)))
}

/// A link made by `in-toto-run` for step `step`, signed by `key`: `src.txt` in, `out.bin`
/// out. Returns the link file and the product's and material's digests.
fn link(dir: &Path, step: &str, key: &Path) -> (PathBuf, String, String) {
    let work = dir.join(step);
    std::fs::create_dir_all(&work).unwrap();
    let material = format!("the source of {step}\n");
    std::fs::write(work.join("src.txt"), &material).unwrap();
    let script = format!("printf 'built by {step}' > out.bin");
    tool(
        "in-toto-run",
        &[
            "-n",
            step,
            "--signing-key",
            s(key),
            "-m",
            "src.txt",
            "-p",
            "out.bin",
            "--",
            "sh",
            "-c",
            &script,
        ],
        &work,
    );
    let file = std::fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "link"))
        .unwrap();
    let product = hex::encode(Sha256::digest(format!("built by {step}")));
    (file, product, hex::encode(Sha256::digest(material)))
}

struct World {
    dir: tempfile::TempDir,
    served: Served,
    vkey: String,
}

impl World {
    fn run(&self, args: &[&str]) -> Output {
        client(&self.dir.path().join("home"))
            .args(args)
            .args(["--registry", &self.served.url, "--token", TOKEN])
            .output()
            .unwrap()
    }

    fn attest(&self, verb: &str, file: &Path) -> Output {
        self.run(&["attest", verb, s(file), "--log-key", &self.vkey, "--json"])
    }

    fn search(&self, args: &[&str]) -> Output {
        let mut all = vec!["log", "search", "--log-key", &self.vkey];
        all.extend_from_slice(args);
        self.run(&all)
    }
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn links_are_added_proven_found_byte_for_byte_and_searched_by_signer() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let (rsa, rsa_pub, rsa_id) = keypair(
        &d,
        "rsa",
        &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"],
    );
    let (ec, ec_pub, ec_id) = keypair(
        &d,
        "ec",
        &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    );
    let (outsider, _, _) = keypair(
        &d,
        "out",
        &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
    );
    let data = d.join("data");
    let fixture_key = fixtures().join("../in-toto/signer.pub.pem");
    let plugin_key = fixtures().join("test-keys/fixture-test-pub-key.pem");
    let served = Served::start(
        cairn(),
        &[
            "--addr",
            "127.0.0.1:0",
            "--data",
            s(&data),
            "--token",
            TOKEN,
            "--public-key",
            s(&rsa_pub),
            "--public-key",
            s(&ec_pub),
            "--public-key",
            s(&fixture_key),
            "--public-key",
            s(&plugin_key),
        ],
    );
    let vkey = stdout(&ok(cairn().args(["log", "key", "--data", s(&data)])))
        .trim()
        .to_owned();
    let w = World { dir, served, vkey };

    // The fixture link and fresh RSA and ECDSA links are accepted and proven.
    let fixture = fixtures().join("../in-toto/package.1c656f99.link");
    let added = json(&w.attest("add", &fixture));
    assert_eq!(added["added"], true);
    let first = added["index"].as_u64().unwrap();
    let again = json(&w.attest("add", &fixture));
    assert_eq!(
        (again["index"].as_u64(), &again["added"]),
        (Some(first), &serde_json::json!(false))
    );
    let (rsa_link, rsa_product, rsa_material) = link(&d, "build-rsa", &rsa);
    let (ec_link, ec_product, _) = link(&d, "build-ec", &ec);
    for (file, id, product) in [
        (&rsa_link, &rsa_id, &rsa_product),
        (&ec_link, &ec_id, &ec_product),
    ] {
        let added = json(&w.attest("add", file));
        assert_eq!(added["signers"], serde_json::json!([id]));
        assert_eq!(added["subjects"], serde_json::json!([product]));
        assert_eq!(added["materials"].as_array().unwrap().len(), 1);
        let got = json(&w.attest("get", file));
        assert_eq!(got["index"], added["index"]);
    }
    let text = w.run(&["attest", "get", s(&fixture), "--log-key", &w.vkey]);
    assert!(text.status.success(), "{}", stderr(&text));
    assert!(
        stdout(&text).contains("stored document identical"),
        "{}",
        stdout(&text)
    );

    // One changed byte, and a link never submitted: non-zero, and said why.
    let mut changed = std::fs::read(&rsa_link).unwrap();
    let at = changed.len() - 3;
    changed[at] ^= 1;
    let changed_file = d.join("changed.link");
    std::fs::write(&changed_file, &changed).unwrap();
    let (never, _, _) = link(&d, "never", &ec);
    for file in [&changed_file, &never] {
        let out = w.attest("get", file);
        assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
        assert!(stderr(&out).contains("is in the log"), "{}", stderr(&out));
    }
    // A link by a key the registry does not hold is refused, naming why.
    let (stranger, _, _) = link(&d, "stranger", &outsider);
    let out = w.attest("add", &stranger);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no signature by a configured key"),
        "{}",
        stderr(&out)
    );
    // Another log's key proves nothing.
    let other_data = d.join("other-data");
    let other = Served::start(
        cairn(),
        &[
            "--addr",
            "127.0.0.1:0",
            "--data",
            s(&other_data),
            "--token",
            TOKEN,
        ],
    );
    let other_key = stdout(&ok(cairn().args(["log", "key", "--data", s(&other_data)])));
    drop(other);
    let out = w.run(&["attest", "get", s(&fixture), "--log-key", other_key.trim()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("checkpoint signature"),
        "{}",
        stderr(&out)
    );

    // Searches, each hit proven: by signer key file, subject and material.
    let by_rsa = json(&w.search(&["--key", s(&rsa_pub), "--json"]));
    let hits = by_rsa["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(
        hits[0]["entry"]["subjects"],
        serde_json::json!([rsa_product])
    );
    let by_subject = json(&w.search(&["--subject", &rsa_product, "--json"]));
    assert_eq!(by_subject["hits"][0]["index"], hits[0]["index"]);
    let by_material = json(&w.search(&["--material", &rsa_material, "--json"]));
    assert_eq!(by_material["hits"][0]["index"], hits[0]["index"]);
    let none = w.search(&["--digest", &"ab".repeat(32)]);
    assert_eq!(none.status.code(), Some(1), "{}", stderr(&none));

    // The blast radius of the plugin key: two plugins, one deleted since.
    let priv_key = fixtures().join("test-keys/fixture-test-priv-key.pem");
    let mut kept = crate::util::fixture("libmemflow_synthc.x86_64.so");
    kept.extend_from_slice(b"kept");
    let mut gone = crate::util::fixture("libmemflow_synthc.x86_64.so");
    gone.extend_from_slice(b"gone");
    std::fs::write(d.join("kept.so"), &kept).unwrap();
    std::fs::write(d.join("gone.so"), &gone).unwrap();
    for f in ["kept.so", "gone.so"] {
        let out = w.run(&["push", s(&d.join(f)), "--key", s(&priv_key)]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let gone_digest = crate::util::sha256_hex(&gone);
    let out = w.run(&["rm", &gone_digest]);
    assert!(out.status.success(), "{}", stderr(&out));
    let radius = w.search(&["--key", s(&plugin_key)]);
    assert!(radius.status.success(), "{}", stderr(&radius));
    let lines = stdout(&radius);
    let kept_line = lines
        .lines()
        .find(|l| l.contains(&crate::util::sha256_hex(&kept)))
        .unwrap();
    assert!(kept_line.contains("no deletion logged"), "{lines}");
    let gone_line = lines.lines().find(|l| l.contains(&gone_digest)).unwrap();
    assert!(gone_line.contains("deleted by entry"), "{lines}");
    assert!(
        stderr(&radius).contains("each proven"),
        "{}",
        stderr(&radius)
    );
}

#[test]
fn a_published_policy_is_proven_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("data");
    let served = Served::start(
        cairn(),
        &[
            "--addr",
            "127.0.0.1:0",
            "--data",
            s(&data),
            "--token",
            TOKEN,
        ],
    );
    let vkey = stdout(&ok(cairn().args(["log", "key", "--data", s(&data)])))
        .trim()
        .to_owned();
    let home = d.join("home");
    let cli = || client(&home);
    ok(cli().args([
        "keygen",
        "--algo",
        "ed25519",
        "--out",
        s(&d.join("root.pem")),
    ]));
    let policy = d.join("policy.toml");
    ok(cli()
        .args(["trust", "init", "--out", s(&policy), "--root-key"])
        .arg(d.join("root.pem.pub"))
        .args(["--log-key", &vkey]));
    let publish = || {
        cli()
            .args([
                "trust",
                "publish",
                s(&policy),
                "--registry",
                &served.url,
                "--token",
                TOKEN,
            ])
            .output()
            .unwrap()
    };
    let unsigned = publish();
    assert_eq!(unsigned.status.code(), Some(2));
    assert!(
        stderr(&unsigned).contains("cannot be published"),
        "{}",
        stderr(&unsigned)
    );
    ok(cli()
        .args(["trust", "sign", s(&policy), "--key"])
        .arg(d.join("root.pem")));
    let out = publish();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("policy version 1 published at entry 0"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("inclusion proven"),
        "{}",
        stdout(&out)
    );
    let again = publish();
    assert!(
        stdout(&again).contains("was published already"),
        "{}",
        stdout(&again)
    );
}
