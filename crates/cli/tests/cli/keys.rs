//! `cairn keygen|key|sign|verify` against the real `openssl`, and the in-toto fixture.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::util::{cairn, ok as run};

fn openssl(args: &[&str]) -> Output {
    run(Command::new("openssl").args(args))
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

const ALGOS: [&str; 3] = ["secp256k1", "p256", "ed25519"];

/// openssl's spelling of each algorithm for `genpkey`.
fn genpkey_args(algo: &str) -> Vec<&'static str> {
    match algo {
        "secp256k1" => vec![
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:secp256k1",
        ],
        "p256" => vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        _ => vec!["-algorithm", "ed25519"],
    }
}

#[test]
fn keys_travel_both_ways_between_cairn_and_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("pass");
    std::fs::write(&pass, "correct horse\n").unwrap();
    for algo in ALGOS {
        // cairn → openssl, plain and passphrase-encrypted.
        let key = dir.path().join(format!("{algo}.pem"));
        let id = text(&run(cairn().args([
            "keygen",
            "--algo",
            algo,
            "--out",
            p(&key),
        ])));
        let ours = std::fs::read_to_string(dir.path().join(format!("{algo}.pem.pub"))).unwrap();
        let theirs = text(&openssl(&["pkey", "-in", p(&key), "-pubout"]));
        assert_eq!(ours, theirs, "{algo}");
        let mode = std::fs::metadata(&key).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
        let id_pub = text(&run(cairn().args([
            "key",
            "id",
            p(&dir.path().join(format!("{algo}.pem.pub"))),
        ])));
        assert_eq!(id, id_pub);
        let der = openssl(&[
            "pkey",
            "-pubin",
            "-in",
            p(&dir.path().join(format!("{algo}.pem.pub"))),
            "-outform",
            "DER",
        ])
        .stdout;
        assert_eq!(
            id.trim(),
            crate::util::sha256_hex(&der),
            "key id = SHA-256 of the SPKI DER"
        );

        let enc = dir.path().join(format!("{algo}.enc.pem"));
        run(cairn().args([
            "keygen",
            "--algo",
            algo,
            "--out",
            p(&enc),
            "--passphrase-file",
            p(&pass),
        ]));
        assert!(
            std::fs::read_to_string(&enc)
                .unwrap()
                .contains("ENCRYPTED PRIVATE KEY")
        );
        let theirs = text(&openssl(&[
            "pkey",
            "-in",
            p(&enc),
            "-passin",
            "pass:correct horse",
            "-pubout",
        ]));
        assert_eq!(
            std::fs::read_to_string(format!("{}.pub", p(&enc))).unwrap(),
            theirs
        );
        let wrong = cairn().args(["key", "pub", p(&enc)]).output().unwrap();
        assert!(!wrong.status.success());
        assert!(String::from_utf8_lossy(&wrong.stderr).contains("passphrase is needed"));

        // openssl → cairn: PKCS#8, encrypted PKCS#8.
        let theirs_key = dir.path().join(format!("{algo}.openssl.pem"));
        let mut args = vec!["genpkey"];
        args.extend(genpkey_args(algo));
        args.extend(["-out", p(&theirs_key)]);
        openssl(&args);
        let expect = text(&openssl(&["pkey", "-in", p(&theirs_key), "-pubout"]));
        assert_eq!(
            text(&run(cairn().args(["key", "pub", p(&theirs_key)]))),
            expect,
            "{algo}"
        );
        let theirs_enc = dir.path().join(format!("{algo}.openssl.enc.pem"));
        openssl(&[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-in",
            p(&theirs_key),
            "-passout",
            "pass:correct horse",
            "-out",
            p(&theirs_enc),
        ]);
        assert_eq!(
            text(&run(cairn().args([
                "key",
                "pub",
                p(&theirs_enc),
                "--passphrase-file",
                p(&pass)
            ]))),
            expect
        );
        std::fs::write(pass.with_extension("bad"), "wrong\n").unwrap();
        let bad = cairn()
            .args([
                "key",
                "pub",
                p(&theirs_enc),
                "--passphrase-file",
                p(&pass.with_extension("bad")),
            ])
            .output()
            .unwrap();
        assert!(!bad.status.success());
        assert!(String::from_utf8_lossy(&bad.stderr).contains("wrong passphrase"));
    }
    // SEC1 `EC PRIVATE KEY`, as `openssl ecparam -genkey` writes it (memflow's README).
    let sec1 = dir.path().join("sec1.pem");
    openssl(&[
        "ecparam",
        "-name",
        "secp256k1",
        "-genkey",
        "-noout",
        "-out",
        p(&sec1),
    ]);
    let expect = text(&openssl(&["pkey", "-in", p(&sec1), "-pubout"]));
    assert_eq!(text(&run(cairn().args(["key", "pub", p(&sec1)]))), expect);
}

/// Whether a DER ECDSA signature's S is above n/2 (what k256 and p256 call high-S).
fn is_high_s(der: &[u8], algo: &str) -> bool {
    match algo {
        "secp256k1" => k256::ecdsa::Signature::from_der(der)
            .unwrap()
            .normalize_s()
            .is_some(),
        _ => p256::ecdsa::Signature::from_der(der)
            .unwrap()
            .normalize_s()
            .is_some(),
    }
}

#[test]
fn signatures_travel_both_ways_between_cairn_and_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plugin.so");
    std::fs::write(&file, crate::util::plugin(100_000, 7)).unwrap();
    for algo in ALGOS {
        let key = dir.path().join(format!("{algo}.pem"));
        let public = PathBuf::from(format!("{}.pub", p(&key)));
        run(cairn().args(["keygen", "--algo", algo, "--out", p(&key)]));

        // cairn sign → openssl verify (raw bytes) and cairn verify (hex).
        let sig_raw = dir.path().join(format!("{algo}.sig"));
        run(cairn().args([
            "sign",
            "--key",
            p(&key),
            "--format",
            "raw",
            "--out",
            p(&sig_raw),
            p(&file),
        ]));
        if algo == "ed25519" {
            openssl(&[
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                p(&public),
                "-rawin",
                "-in",
                p(&file),
                "-sigfile",
                p(&sig_raw),
            ]);
        } else {
            openssl(&[
                "dgst",
                "-sha256",
                "-verify",
                p(&public),
                "-signature",
                p(&sig_raw),
                p(&file),
            ]);
        }
        let hex = text(&run(cairn().args(["sign", "--key", p(&key), p(&file)])));
        run(cairn().args([
            "verify",
            "--key",
            p(&public),
            "--signature",
            hex.trim(),
            p(&file),
        ]));

        // openssl sign → cairn verify, until both S halves have been seen for ECDSA.
        let theirs = dir.path().join(format!("{algo}.openssl.sig"));
        let mut high = 0;
        let rounds = if algo == "ed25519" { 3 } else { 24 };
        for _ in 0..rounds {
            if algo == "ed25519" {
                openssl(&[
                    "pkeyutl",
                    "-sign",
                    "-inkey",
                    p(&key),
                    "-rawin",
                    "-in",
                    p(&file),
                    "-out",
                    p(&theirs),
                ]);
            } else {
                openssl(&[
                    "dgst",
                    "-sha256",
                    "-sign",
                    p(&key),
                    "-out",
                    p(&theirs),
                    p(&file),
                ]);
                high += usize::from(is_high_s(&std::fs::read(&theirs).unwrap(), algo));
            }
            run(cairn().args([
                "verify",
                "--key",
                p(&public),
                "--signature-file",
                p(&theirs),
                p(&file),
            ]));
        }
        if algo != "ed25519" {
            assert!(
                high > 0 && high < rounds,
                "{algo}: {high} of {rounds} high-S: both kinds needed"
            );
        }

        // A signature over other bytes, or by another key, is refused with exit 1.
        let other = dir.path().join("other.so");
        std::fs::write(&other, b"other bytes").unwrap();
        let out = cairn()
            .args([
                "verify",
                "--key",
                p(&public),
                "--signature",
                hex.trim(),
                p(&other),
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{algo}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("signature INVALID"));
    }
}

#[test]
fn the_in_toto_link_fixture_verifies_with_its_key() {
    let fixtures = crate::util::fixtures().join("../in-toto");
    let link = fixtures.join("package.1c656f99.link");
    let key = fixtures.join("signer.pub.pem");
    let out = run(cairn().args(["verify", "--key", p(&key), p(&link)]));
    assert!(text(&out).starts_with("signature OK"), "{}", text(&out));
    // The same link with one byte of its signed part changed does not.
    let dir = tempfile::tempdir().unwrap();
    let tampered = dir.path().join("package.link");
    let body = std::fs::read_to_string(&link)
        .unwrap()
        .replacen("hello-plugin", "hello-plugim", 1);
    std::fs::write(&tampered, body).unwrap();
    let out = cairn()
        .args(["verify", "--key", p(&key), p(&tampered)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}
