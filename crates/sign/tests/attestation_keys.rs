//! Attestations made by the real in-toto 3.0.0 (`in-toto-run`, securesystemslib's
//! `CryptoSigner`) with keys made by `openssl genpkey`, one test per key type
//! securesystemslib signs with: RSA-PSS (3072 bits), ECDSA P-256 and P-384, Ed25519.
//!
//! Each makes a fresh link and a fresh DSSE envelope (a material file in, a product file
//! out) and checks that [`check_with`] accepts them with the right signer, subjects and
//! materials, and refuses them after one byte of the signature or of the signed content
//! changed, or under a key that did not sign them. A missing tool fails the test with what
//! to install: `scripts/test` installs in-toto; nothing is skipped.

// Helpers panic on purpose: a failed tool or check fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use cairn_sign::attestation::{AttestationKeys, check, check_with, in_toto_keyid};
use cairn_sign::{PublicKey, TrustedKeys};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(what: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "cairn-attestation-{what}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs a tool; a missing tool or a failed run fails the test, saying why.
fn run(program: &str, args: &[&str], dir: &Path) -> Output {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            let install = match program {
                "in-toto-run" => "python3 -m pip install 'in-toto==3.0.0' (scripts/test does)",
                "openssl" => "apt-get install openssl",
                _ => "install it",
            };
            panic!("cannot run {program} ({e}): {install}")
        });
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The in-toto on PATH must be 3.0.0, the version these tests were written against.
fn require_in_toto() {
    let out = run("in-toto-run", &["--version"], &std::env::temp_dir());
    let version =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        version.contains("3.0.0"),
        "in-toto-run is not in-toto 3.0.0 ({version:?}): \
         python3 -m pip install 'in-toto==3.0.0'"
    );
}

/// The key types, as `openssl genpkey` makes them.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Rsa,
    P256,
    P384,
    Ed25519,
}

impl Kind {
    fn genpkey_args(self) -> &'static [&'static str] {
        match self {
            Kind::Rsa => &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"],
            Kind::P256 => &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            Kind::P384 => &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
            Kind::Ed25519 => &["-algorithm", "ED25519"],
        }
    }

    /// Whether Cairn also signs artifacts with keys of this type.
    fn is_cairn(self) -> bool {
        matches!(self, Kind::P256 | Kind::Ed25519)
    }
}

/// A key pair made by openssl: PKCS#8 PEM private key, SPKI PEM public key.
struct KeyPair {
    private: PathBuf,
    public_pem: String,
    /// Cairn's id, computed apart from Cairn: SHA-256 of the DER openssl writes.
    id: String,
}

fn keypair(dir: &Scratch, kind: Kind, name: &str) -> KeyPair {
    let private = dir.path(&format!("{name}.key.pem"));
    let public = dir.path(&format!("{name}.pub.pem"));
    let private_s = private.to_str().unwrap();
    let public_s = public.to_str().unwrap();
    let mut args = vec!["genpkey"];
    args.extend_from_slice(kind.genpkey_args());
    args.extend_from_slice(&["-out", private_s]);
    run("openssl", &args, &dir.0);
    let pem = std::fs::read_to_string(&private).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "PKCS#8");
    run(
        "openssl",
        &["pkey", "-in", private_s, "-pubout", "-out", public_s],
        &dir.0,
    );
    let der = run(
        "openssl",
        &["pkey", "-pubin", "-in", public_s, "-outform", "DER"],
        &dir.0,
    )
    .stdout;
    KeyPair {
        private,
        public_pem: std::fs::read_to_string(&public).unwrap(),
        id: hex::encode(Sha256::digest(der)),
    }
}

fn keys_of(pairs: &[&KeyPair]) -> AttestationKeys {
    let mut keys = AttestationKeys::new();
    for pair in pairs {
        keys.add_pem(&pair.public_pem, "test key").unwrap();
    }
    keys
}

/// What `in-toto-run` made: the document, and the digests it must name.
struct Made {
    doc: Vec<u8>,
    material: String,
    product: String,
}

/// Runs `in-toto-run` in a fresh step directory: `mat.txt` in, `out.txt` out.
fn in_toto_run(dir: &Scratch, key: &KeyPair, step: &str, dsse: bool) -> Made {
    let work = dir.path(step);
    std::fs::create_dir_all(&work).unwrap();
    let material = format!("material of {step}\n");
    std::fs::write(work.join("mat.txt"), &material).unwrap();
    let mut args = vec!["-n", step, "--signing-key", key.private.to_str().unwrap()];
    if dsse {
        args.push("--use-dsse");
    }
    args.extend_from_slice(&[
        "-m",
        "mat.txt",
        "-p",
        "out.txt",
        "--",
        "sh",
        "-c",
        "echo product of the step > out.txt",
    ]);
    run("in-toto-run", &args, &work);
    let link = std::fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "link"))
        .expect("in-toto-run wrote a .link file");
    Made {
        doc: std::fs::read(link).unwrap(),
        material: hex::encode(Sha256::digest(material)),
        product: hex::encode(Sha256::digest(b"product of the step\n")),
    }
}

fn refusal(doc: &[u8], keys: &AttestationKeys) -> String {
    match check_with(doc, keys) {
        Ok(a) => panic!("accepted: {a:?}"),
        Err(e) => e.0,
    }
}

/// One changed hex digit (link) or byte (DSSE) of the first signature.
fn change_signature(doc: &[u8], dsse: bool) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(doc).unwrap();
    let sig = v["signatures"][0]["sig"].as_str().unwrap().to_owned();
    let changed = if dsse {
        let mut raw = B64.decode(sig).unwrap();
        let last = raw.len() - 1;
        raw[last / 2] ^= 0x01;
        B64.encode(raw)
    } else {
        let flipped = if sig.as_bytes()[10] == b'0' { "1" } else { "0" };
        format!("{}{flipped}{}", &sig[..10], &sig[11..])
    };
    v["signatures"][0]["sig"] = Value::String(changed);
    serde_json::to_vec(&v).unwrap()
}

/// One changed byte of what the signature covers: the material's digest.
fn change_content(doc: &[u8], dsse: bool, material: &str) -> Vec<u8> {
    let swap = |text: &str| {
        let changed = format!(
            "{}{}",
            if material.starts_with('0') { "1" } else { "0" },
            &material[1..]
        );
        assert!(text.contains(material));
        text.replace(material, &changed)
    };
    if !dsse {
        return swap(std::str::from_utf8(doc).unwrap()).into_bytes();
    }
    let mut v: Value = serde_json::from_slice(doc).unwrap();
    let payload = B64.decode(v["payload"].as_str().unwrap()).unwrap();
    let payload = swap(std::str::from_utf8(&payload).unwrap());
    v["payload"] = Value::String(B64.encode(payload));
    serde_json::to_vec(&v).unwrap()
}

/// The whole exercise for one key type.
fn exercise(kind: Kind) {
    require_in_toto();
    let dir = Scratch::new(&format!("{kind:?}"));
    let signer = keypair(&dir, kind, "signer");
    let other = keypair(&dir, kind, "other");
    let keys = keys_of(&[&signer]);
    // Cairn's keys come back from add_pem; attestation-only ones do not.
    let added = AttestationKeys::new()
        .add_pem(&signer.public_pem, "signer")
        .unwrap();
    assert_eq!(added.len(), 1);
    assert_eq!(added[0].is_some(), kind.is_cairn(), "{kind:?}");
    for dsse in [false, true] {
        let made = in_toto_run(&dir, &signer, if dsse { "dsse" } else { "link" }, dsse);
        let v: Value = serde_json::from_slice(&made.doc).unwrap();
        let keyid = v["signatures"][0]["keyid"].as_str().unwrap().to_owned();
        if let Some(public) = &added[0] {
            assert_eq!(in_toto_keyid(public).as_deref(), Some(keyid.as_str()));
        }

        // Accepted, with the signer's id, the product and the material. A link's signature
        // is matched by keyid only, so this also shows the keyid is securesystemslib's.
        let att = check_with(&made.doc, &keys).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert_eq!(att.format, if dsse { "dsse" } else { "in-toto-link" });
        assert_eq!(att.signers, std::slice::from_ref(&signer.id), "{kind:?}");
        assert_eq!(att.subjects, std::slice::from_ref(&made.product));
        assert_eq!(att.materials, std::slice::from_ref(&made.material));
        assert_eq!(att.digest, hex::encode(Sha256::digest(&made.doc)));

        // Beside other keys, the signer is still found; the other keys sign nothing.
        let mut all = keys_of(&[&other]);
        all.add_pem(&signer.public_pem, "signer again").unwrap();
        all.add_pem(&signer.public_pem, "signer a third time")
            .unwrap();
        assert_eq!(all.len(), 2, "a key added twice is kept once");
        assert_eq!(
            check_with(&made.doc, &all).unwrap().signers,
            std::slice::from_ref(&signer.id)
        );

        let bad_sig = change_signature(&made.doc, dsse);
        let e = refusal(&bad_sig, &keys);
        assert!(
            e.contains(&keyid) && e.contains("does not verify"),
            "{kind:?}: {e}"
        );
        let bad_content = change_content(&made.doc, dsse, &made.material);
        let e = refusal(&bad_content, &keys);
        assert!(e.contains("does not verify"), "{kind:?}: {e}");

        // Under a key that did not sign it: refused, whatever the other key's type.
        let e = refusal(&made.doc, &keys_of(&[&other]));
        assert_eq!(e, "no signature by a configured key");

        // The thin wrapper over Cairn's trusted keys sees the same for Cairn key types.
        if kind.is_cairn() {
            let mut trusted = TrustedKeys::default();
            trusted.add_pem(&signer.public_pem, "signer").unwrap();
            assert_eq!(check(&made.doc, &trusted).unwrap(), att);
        }
    }
}

#[test]
fn rsa_pss_links_and_envelopes_from_in_toto() {
    exercise(Kind::Rsa);
}

#[test]
fn ecdsa_p256_links_and_envelopes_from_in_toto() {
    exercise(Kind::P256);
}

#[test]
fn ecdsa_p384_links_and_envelopes_from_in_toto() {
    exercise(Kind::P384);
}

#[test]
fn ed25519_links_and_envelopes_from_in_toto() {
    exercise(Kind::Ed25519);
}

/// DSSE envelopes signed by `openssl dgst`: RSA-PSS with the digest-long salt
/// securesystemslib uses and with OpenSSL's longest salt, and P-384 over SHA-384.
#[test]
fn openssl_made_envelopes_verify() {
    let dir = Scratch::new("openssl");
    let payload = br#"{"_type": "https://in-toto.io/Statement/v1", "subject": [{"name": "a", "digest": {"sha256": "aa"}}], "predicate": {}}"#;
    let payload_type = "application/vnd.in-toto+json";
    let mut pae = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    pae.extend_from_slice(payload);
    std::fs::write(dir.path("pae"), &pae).unwrap();
    let rsa = keypair(&dir, Kind::Rsa, "rsa");
    let p384 = keypair(&dir, Kind::P384, "p384");
    let keys = keys_of(&[&rsa, &p384]);
    let pss = [
        "-sigopt",
        "rsa_padding_mode:pss",
        "-sigopt",
        "rsa_mgf1_md:sha256",
    ];
    for (key, digest, opts) in [
        (
            &rsa,
            "-sha256",
            [&pss[..], &["-sigopt", "rsa_pss_saltlen:digest"]].concat(),
        ),
        (
            &rsa,
            "-sha256",
            [&pss[..], &["-sigopt", "rsa_pss_saltlen:max"]].concat(),
        ),
        (&p384, "-sha384", vec![]),
    ] {
        let mut args = vec!["dgst", digest, "-sign", key.private.to_str().unwrap()];
        args.extend_from_slice(&opts);
        args.push("pae");
        let sig = run("openssl", &args, &dir.0).stdout;
        let envelope = serde_json::json!({
            "payloadType": payload_type,
            "payload": B64.encode(payload),
            "signatures": [{"keyid": "", "sig": B64.encode(&sig)}],
        });
        let doc = serde_json::to_vec(&envelope).unwrap();
        let att = check_with(&doc, &keys).unwrap_or_else(|e| panic!("{opts:?}: {e}"));
        assert_eq!(att.signers, std::slice::from_ref(&key.id));
        assert_eq!(att.subjects, ["aa"]);
        assert!(att.materials.is_empty());
    }
}

/// The fixture made with in-toto 3.1.0 still verifies, with its two materials.
#[test]
fn the_fixture_link_still_verifies() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/in-toto");
    let doc = std::fs::read(format!("{root}/package.1c656f99.link")).unwrap();
    let pem = std::fs::read_to_string(format!("{root}/signer.pub.pem")).unwrap();
    let mut keys = AttestationKeys::new();
    let added = keys.add_pem(&pem, "fixture").unwrap();
    let public: &PublicKey = added[0].as_ref().unwrap();
    let att = check_with(&doc, &keys).unwrap();
    assert_eq!(att.signers, [public.id()]);
    assert_eq!(
        att.subjects,
        ["bb7b0f66816f3b03f37459f3bd6a41a444d425fa4c170d13c55d393a1a9a241c"]
    );
    assert_eq!(att.materials.len(), 2);
    let mut trusted = TrustedKeys::default();
    trusted.add(public.clone());
    assert_eq!(check(&doc, &trusted).unwrap(), att);
}
