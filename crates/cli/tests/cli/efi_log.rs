//! The transparency log for Secure Boot files: `cairn efi sign|auth --registry` publishes
//! what it wrote, and `cairn efi verify --log` trusts an image only once its `efi_image`
//! entry is proven in the pinned log: an image signed but never published is refused, and
//! so is every lie of the registry (behind the lying proxy of `lies.rs`).

use std::process::Output;

use serde_json::Value;

use crate::lies::{Lie, ORIGIN, TOKEN, setup};
use crate::pull::{client, s, stdout};
use crate::util::{ok, sha256_hex};

const HELLO: &str = "/usr/lib/efitools/x86_64-linux-gnu/HelloWorld.efi";
/// Another image, signed with the same key but never published.
const KEYTOOL: &str = "/usr/lib/efitools/x86_64-linux-gnu/KeyTool.efi";

fn expect(out: &Output, code: i32, why: &str) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(code), "{text}");
    assert!(text.contains(why), "expected {why:?} in: {text}");
}

fn with(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// A GET from the real server (not the proxy).
fn get(url: &str) -> Vec<u8> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::get(url).await.unwrap();
        assert!(r.status().is_success(), "GET {url}: {}", r.status());
        r.bytes().await.unwrap().to_vec()
    })
}

#[test]
fn an_image_is_trusted_only_once_its_publication_is_proven() {
    let w = setup();
    let home = w.dir.path();
    let keys = w.path("keys");
    ok(client(home).args(["efi", "keygen", "--name", "Cairn Test", "--out", s(&keys)]));
    let (db_key, db_crt) = (keys.join("db.key"), keys.join("db.crt"));
    let sign = |image: &str, out: &str, registry: Option<&str>| {
        let mut cmd = client(home);
        cmd.args([
            "efi",
            "sign",
            image,
            "--key",
            s(&db_key),
            "--cert",
            s(&db_crt),
        ])
        .args(["--out", s(&w.path(out))]);
        if let Some(url) = registry {
            cmd.args(["--registry", url, "--token", TOKEN]);
        }
        ok(&mut cmd)
    };
    let verify = |image: &str, log: &[&str]| {
        client(home)
            .args(["efi", "verify", s(&w.path(image)), "--db", s(&db_crt)])
            .args(log)
            .output()
            .unwrap()
    };
    let logged = |key: &str| -> Vec<String> {
        ["--log", "--registry", &w.proxy_url, "--log-key", key]
            .map(str::to_owned)
            .to_vec()
    };

    // Signed and published: verify --log proves it, then db allows it.
    let out = sign(HELLO, "signed.efi", Some(&w.served.url));
    assert!(
        stdout(&out).contains("signed.efi published: log entry 0, signed by"),
        "{}",
        stdout(&out)
    );
    let args = logged(&w.vkey);
    let out = verify("signed.efi", &with(&args));
    expect(&out, 0, "signed.efi: published: log entry 0");
    expect(&out, 0, "allowed: signed by CN=Cairn Test db");
    // The log key from a file.
    let vkey_file = w.path("log.vkey");
    std::fs::write(&vkey_file, format!("{}\n", w.vkey)).unwrap();
    let args = logged(s(&vkey_file));
    expect(
        &verify("signed.efi", &with(&args)),
        0,
        "published: log entry 0",
    );
    // Signed and published again (signing is deterministic: the same bytes): the same
    // entry.
    let out = sign(HELLO, "again.efi", Some(&w.served.url));
    assert!(
        stdout(&out).contains("again.efi already published: log entry 0"),
        "{}",
        stdout(&out)
    );

    // A signed update, published for the variable it updates.
    let auth = ok(client(home)
        .args(["efi", "auth", "db", s(&keys.join("db.esl"))])
        .args([
            "--key",
            s(&keys.join("KEK.key")),
            "--cert",
            s(&keys.join("KEK.crt")),
        ])
        .args(["--append", "--out", s(&w.path("db-append.auth"))])
        .args(["--registry", &w.served.url, "--token", TOKEN]));
    assert!(
        stdout(&auth).contains("db-append.auth published: log entry 1"),
        "{}",
        stdout(&auth)
    );
    let update = std::fs::read(w.path("db-append.auth")).unwrap();
    let entry: Value =
        serde_json::from_slice(&get(&format!("{}/log/entries/1", w.served.url))).unwrap();
    assert_eq!(entry["entry"]["kind"], "efi_vars");
    assert_eq!(entry["entry"]["digest"], sha256_hex(&update).as_str());
    assert_eq!(entry["entry"]["variable"], "db");
    assert_eq!(entry["entry"]["append"], true);

    // Signed locally, never published: db alone allows it, --log refuses it.
    sign(KEYTOOL, "one-off.efi", None);
    expect(&verify("one-off.efi", &[]), 0, "allowed");
    let args = logged(&w.vkey);
    let out = verify("one-off.efi", &with(&args));
    expect(
        &out,
        1,
        "one-off.efi: REFUSED: not published: the registry has no log entry",
    );
    assert!(!stdout(&out).contains("allowed"), "{}", stdout(&out));

    // A lying registry: the (valid) proof of another image.
    let twice = w.path("twice.efi");
    ok(client(home)
        .args(["efi", "sign", s(&w.path("signed.efi")), "--key", s(&db_key)])
        .args(["--cert", s(&db_crt), "--out", s(&twice)])
        .args(["--registry", &w.served.url, "--token", TOKEN]));
    let twice_digest = sha256_hex(&std::fs::read(&twice).unwrap());
    let twice_proof = get(&format!("{}/efi/{twice_digest}/proof", w.served.url));
    w.lie(Lie::Proof(twice_proof));
    expect(
        &verify("signed.efi", &with(&args)),
        1,
        &format!("log check failed: log entry 2 records EFI image {twice_digest}"),
    );
    // Its own entry, edited: the inclusion proof fails.
    let signed_digest = sha256_hex(&std::fs::read(w.path("signed.efi")).unwrap());
    let mut proof: Value =
        serde_json::from_slice(&get(&format!("{}/efi/{signed_digest}/proof", w.served.url)))
            .unwrap();
    proof["entry"]["signers"] = serde_json::json!([]);
    w.lie(Lie::Proof(serde_json::to_vec(&proof).unwrap()));
    expect(
        &verify("signed.efi", &with(&args)),
        1,
        "log check failed: inclusion proof",
    );
    // Another log's key: the checkpoint does not verify.
    w.lie(Lie::Honest);
    let other = cairn_tlog::NoteSigner::from_seed(ORIGIN, &[9; 32])
        .unwrap()
        .verifier()
        .to_string();
    let args = logged(&other);
    expect(
        &verify("signed.efi", &with(&args)),
        1,
        "log check failed: checkpoint signature",
    );
    // And honestly, with the right key, it still passes.
    let args = logged(&w.vkey);
    expect(&verify("signed.efi", &with(&args)), 0, "allowed");
    // --log needs the log key.
    let out = verify("signed.efi", &["--log", "--registry", &w.proxy_url]);
    expect(&out, 2, "--log needs the log to prove the entry in");
}
