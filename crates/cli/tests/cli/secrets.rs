//! The log key held by a running `cairn serve` is nowhere in its readable memory.

use ed25519_dalek::pkcs8::DecodePrivateKey;
use sha2::{Digest as _, Sha512};

use crate::util::{Served, cairn, plugin, pub_key, serve_args, upload};

const TOKEN: &str = "secrets-test-token";

#[test]
fn a_running_server_holds_no_copy_of_the_log_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = pub_key();
    let args = serve_args(&data, TOKEN, &key);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // The first start generates the key; the second reads it from its PEM file.
    drop(Served::start(cairn(), &args));
    let served = Served::start(cairn(), &args);
    assert!(!served.stderr_text().contains("generated the log key"));
    let pid = served.child.id();

    // Make it sign: every upload is sequenced into the log under a new signed checkpoint.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        for tag in 0..5 {
            let (status, body) = upload(&client, &served.url, TOKEN, plugin(0, 9000 + tag))
                .await
                .unwrap();
            assert_eq!(status, 200, "{body}");
        }
        let cp = client
            .get(format!("{}/log/checkpoint", served.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(cp.lines().nth(1) == Some("5"), "{cp}");
    });

    // The test reads the key from its file, as an attacker with the disk would.
    let pem = std::fs::read_to_string(data.join("keys/log.pem")).unwrap();
    let signing = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem).unwrap();
    let seed = signing.to_bytes();
    let expanded = Sha512::digest(seed);
    let base64_body = pem.lines().nth(1).unwrap().as_bytes().to_vec();
    assert_eq!(base64_body.len(), 64);
    let public = signing.verifying_key().to_bytes();

    let count = |needle: &[u8]| cairn_secmem::scan_process(pid, needle).unwrap();
    // The public key is in the server's ordinary heap: the scan does see that memory.
    let control = count(&public);
    assert!(
        control.matches >= 1,
        "the scan cannot see the heap: {control:?}"
    );
    assert!(control.bytes > 4 << 20, "{control:?}");
    for (what, needle) in [
        ("seed", &seed[..]),
        ("nonce prefix of the expanded key", &expanded[32..]),
        ("PEM base64 line", &base64_body[..]),
    ] {
        let found = count(needle);
        assert_eq!(
            found.matches, 0,
            "the {what} is in server memory: {found:?}"
        );
    }

    // Core dumps are off for the process holding the key.
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    assert_eq!(
        core.split_whitespace().collect::<Vec<_>>()[4..6],
        ["0", "0"],
        "{core}"
    );
    drop(served);
}
