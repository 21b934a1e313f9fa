#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Detached signatures of every kind over files, against keys the real GnuPG made and Cairn
//! keys: which kind, which key, and nothing for other bytes or other keys.
#![cfg(feature = "openpgp")]

mod gpg;

use std::path::PathBuf;

use cairn_sign::detached::{DetachedKeys, Kind, classify, sha256_file};
use cairn_sign::openpgp::OpenPgpKey;
use cairn_sign::{Algorithm, Error, PrivateKey, PublicKey, SignatureDefect, Signed};
use gpg::{Gpg, Scratch, changed, package_bytes};

/// A package and the same package with one byte changed, with their SHA-256.
struct Files {
    good: PathBuf,
    good_sha: [u8; 32],
    bad: PathBuf,
    bad_sha: [u8; 32],
}

fn files(dir: &Scratch) -> Files {
    let bytes = package_bytes();
    let other = changed(&bytes);
    Files {
        good: dir.write("package.zip", &bytes),
        good_sha: cairn_sign::sha256(&bytes),
        bad: dir.write("changed.zip", &other),
        bad_sha: cairn_sign::sha256(&other),
    }
}

fn keys_from(dir: &Scratch, name: &str, bytes: &[u8]) -> DetachedKeys {
    DetachedKeys::load(&[dir.write(name, bytes)]).unwrap()
}

fn cairn_keys(keys: &[&PrivateKey]) -> DetachedKeys {
    let mut set = DetachedKeys::default();
    for k in keys {
        set.add_key(k.public().clone());
    }
    set
}

#[test]
fn classify_tells_every_kind_apart() {
    let gpg = Gpg::new();
    let f = files(&gpg.home);
    gpg.key("Test <t@example.org>", "ed25519");
    for armor in [false, true] {
        let sig = gpg.sign("t@example.org", &f.good, armor);
        assert_eq!(classify(&sig).unwrap(), Kind::OpenPgp, "armor {armor}");
        // Cut short, it is no signature of any kind.
        assert!(classify(&sig[..sig.len() / 2]).is_err(), "armor {armor}");
    }
    for algo in [Algorithm::Secp256k1, Algorithm::P256] {
        let key = PrivateKey::generate(algo).unwrap();
        let hex = format!("{}\n", hex::encode(key.sign_digest(&f.good_sha).unwrap()));
        assert_eq!(classify(hex.as_bytes()).unwrap(), Kind::Ecdsa);
        assert_eq!(
            classify(hex.to_uppercase().as_bytes()).unwrap(),
            Kind::Ecdsa
        );
    }
    let ed = PrivateKey::generate(Algorithm::Ed25519).unwrap();
    let raw = ed.sign(&Signed::bytes(&package_bytes())).unwrap();
    assert_eq!(raw.len(), 64);
    assert_eq!(classify(&raw).unwrap(), Kind::Ed25519);
    assert_eq!(
        classify(hex::encode(&raw).as_bytes()).unwrap(),
        Kind::Ed25519
    );
    for garbage in [
        &b"not a signature"[..],
        b"",
        &[0x42; 100],
        b"-----BEGIN PGP SIGNATURE-----\nxx\n",
    ] {
        assert!(classify(garbage).is_err(), "{garbage:?}");
    }
    assert!(matches!(
        classify(b"not a signature"),
        Err(Error::Signature(SignatureDefect::Unrecognized))
    ));
}

#[test]
fn gpg_keys_of_every_type_verify_with_their_primary_fingerprint() {
    let gpg = Gpg::new();
    let f = files(&gpg.home);
    let stranger = gpg.key("Stranger <s@example.org>", "ed25519");
    let stranger_sig = gpg.sign("s@example.org", &f.good, false);
    let mut all = DetachedKeys::default();
    for algo in ["rsa3072", "ed25519", "nistp256"] {
        let email = format!("{algo}@example.org");
        let fpr = gpg.key(&format!("Test <{email}>"), algo);
        assert_ne!(fpr, stranger);
        let binary = keys_from(
            &gpg.home,
            &format!("{algo}.gpg"),
            &gpg.export(&[&email], false),
        );
        let armored = keys_from(
            &gpg.home,
            &format!("{algo}.asc"),
            &gpg.export(&[&email], true),
        );
        for keys in [&binary, &armored] {
            assert_eq!(keys.ids(), vec![fpr.clone()], "{algo}");
            for armor in [false, true] {
                let sig = gpg.sign(&email, &f.good, armor);
                let verify = |path, sha| keys.verify_file(Kind::OpenPgp, &sig, path, sha).unwrap();
                assert_eq!(
                    verify(&f.good, &f.good_sha),
                    Some(fpr.clone()),
                    "{algo} {armor}"
                );
                assert_eq!(
                    verify(&f.bad, &f.bad_sha),
                    None,
                    "{algo} {armor}: changed byte"
                );
            }
            let by_stranger = keys.verify_file(Kind::OpenPgp, &stranger_sig, &f.good, &f.good_sha);
            assert_eq!(by_stranger.unwrap(), None, "{algo}: another gpg key");
        }
        all.extend(&binary);
    }
    // One set of every key: each signature still names its own key.
    let sig = gpg.sign("nistp256@example.org", &f.good, true);
    let found = all
        .verify_file(Kind::OpenPgp, &sig, &f.good, &f.good_sha)
        .unwrap();
    assert_eq!(
        found.as_deref(),
        Some(gpg.fingerprints("nistp256@example.org")[0].as_str())
    );
}

#[test]
fn a_signing_subkey_reports_the_primary_fingerprint() {
    let gpg = Gpg::new();
    let f = files(&gpg.home);
    let primary = gpg.key("Sub <sub@example.org>", "nistp256");
    let subkey = gpg.add_signing_subkey(&primary, "ed25519");
    let sig = gpg.sign("sub@example.org", &f.good, false);
    // The test means something only if gpg signed with the subkey.
    use pgp::composed::Deserializable as _;
    let parsed = pgp::composed::DetachedSignature::from_bytes(&sig[..]).unwrap();
    let issuers: Vec<String> = parsed
        .signature
        .issuer_fingerprint()
        .iter()
        .map(|fp| hex::encode(fp.as_bytes()))
        .collect();
    assert_eq!(issuers, vec![subkey.clone()]);
    for armor in [false, true] {
        let keys = keys_from(&gpg.home, "sub.key", &gpg.export(&[&primary], armor));
        assert_eq!(keys.ids(), vec![primary.clone()]);
        let found = keys
            .verify_file(Kind::OpenPgp, &sig, &f.good, &f.good_sha)
            .unwrap();
        assert_eq!(found, Some(primary.clone()));
        assert_eq!(
            keys.verify_file(Kind::OpenPgp, &sig, &f.bad, &f.bad_sha)
                .unwrap(),
            None
        );
    }
    // Anyone can append that subkey to another key; unbound by that key, it signs nothing.
    let other = gpg.key("Other <other@example.org>", "ed25519");
    let host = OpenPgpKey::parse(&gpg.export(&[&other], false)).unwrap();
    let donor = OpenPgpKey::parse(&gpg.export(&[&primary], false)).unwrap();
    let (OpenPgpKey::Pgp(mut host), OpenPgpKey::Pgp(donor)) = (host, donor) else {
        panic!("gpg exports parse as OpenPGP keys");
    };
    host.public_subkeys = donor.public_subkeys.clone();
    let mut grafted = DetachedKeys::default();
    grafted.add_openpgp(OpenPgpKey::Pgp(host));
    assert_eq!(grafted.ids(), vec![other]);
    let found = grafted.verify_file(Kind::OpenPgp, &sig, &f.good, &f.good_sha);
    assert_eq!(found.unwrap(), None);
}

#[test]
fn a_file_may_hold_several_openpgp_keys() {
    let gpg = Gpg::new();
    let a = gpg.key("A <a@example.org>", "ed25519");
    let b = gpg.key("B <b@example.org>", "nistp256");
    let both = gpg.export(&["a@example.org", "b@example.org"], false);
    assert_eq!(
        keys_from(&gpg.home, "both.gpg", &both).ids(),
        vec![a.clone(), b.clone()]
    );
    let mut armored = gpg.export(&["a@example.org"], true);
    armored.extend(gpg.export(&["b@example.org"], true));
    assert_eq!(keys_from(&gpg.home, "both.asc", &armored).ids(), vec![a, b]);
}

#[test]
fn cairn_keys_verify_raw_hex_and_openpgp_signatures() {
    let dir = Scratch::new("cairn");
    let f = files(&dir);
    let bytes = package_bytes();
    let ed = PrivateKey::generate(Algorithm::Ed25519).unwrap();
    let k1 = PrivateKey::generate(Algorithm::Secp256k1).unwrap();
    let p2 = PrivateKey::generate(Algorithm::P256).unwrap();
    let pem: String = [&ed, &k1, &p2]
        .iter()
        .map(|k| k.public().to_pem())
        .collect();
    let keys = keys_from(&dir, "keys.pem", pem.as_bytes());
    let ids = |k: &PrivateKey| Some(k.public().id());
    let raw = ed.sign(&Signed::bytes(&bytes)).unwrap();
    let mut cases = vec![
        (Kind::Ed25519, raw.clone(), ids(&ed)),
        (Kind::Ed25519, hex::encode(&raw).into_bytes(), ids(&ed)),
    ];
    for k in [&k1, &p2] {
        let der = hex::encode(k.sign_digest(&f.good_sha).unwrap());
        cases.push((Kind::Ecdsa, der.into_bytes(), ids(k)));
    }
    for k in [&ed, &k1, &p2] {
        for armored in [false, true] {
            let file = std::fs::File::open(&f.good).unwrap();
            let sig = cairn_sign::openpgp::sign_detached(k, file, armored).unwrap();
            cases.push((Kind::OpenPgp, sig, ids(k)));
        }
    }
    for (kind, sig, id) in &cases {
        assert_eq!(classify(sig).unwrap(), *kind);
        let found = keys.verify_file(*kind, sig, &f.good, &f.good_sha).unwrap();
        assert_eq!(&found, id, "{kind}");
        assert_eq!(
            keys.verify_file(*kind, sig, &f.bad, &f.bad_sha).unwrap(),
            None,
            "{kind}"
        );
        // Only the key that made it.
        let other = cairn_keys(&[&PrivateKey::generate(Algorithm::Ed25519).unwrap()]);
        assert_eq!(
            other.verify_file(*kind, sig, &f.good, &f.good_sha).unwrap(),
            None
        );
    }
    // A signature given as another kind is malformed, not merely unverified.
    assert!(
        keys.verify_file(Kind::Ecdsa, &raw, &f.good, &f.good_sha)
            .is_err()
    );
    assert!(
        keys.verify_file(Kind::OpenPgp, &raw, &f.good, &f.good_sha)
            .is_err()
    );
}

#[test]
fn a_file_that_no_longer_has_the_given_digest_is_refused() {
    let gpg = Gpg::new();
    let f = files(&gpg.home);
    let ed = PrivateKey::generate(Algorithm::Ed25519).unwrap();
    let raw = ed.sign(&Signed::bytes(&package_bytes())).unwrap();
    let changed = |r| matches!(r, Err(Error::Changed { .. }));
    let keys = cairn_keys(&[&ed]);
    assert!(changed(keys.verify_file(
        Kind::Ed25519,
        &raw,
        &f.good,
        &f.bad_sha
    )));
    let fpr = gpg.key("C <c@example.org>", "ed25519");
    let pgp_keys = keys_from(&gpg.home, "c.asc", &gpg.export(&[&fpr], true));
    let sig = gpg.sign("c@example.org", &f.good, false);
    assert!(changed(pgp_keys.verify_file(
        Kind::OpenPgp,
        &sig,
        &f.good,
        &f.bad_sha
    )));
    let gone = gpg.home.path("gone.zip");
    assert!(matches!(
        pgp_keys.verify_file(Kind::OpenPgp, &sig, &gone, &f.good_sha),
        Err(Error::Io { .. })
    ));
}

#[test]
fn weak_ed25519_keys_and_signatures_verify_nothing() {
    let dir = Scratch::new("weak");
    let f = files(&dir);
    // The identity point as key, and as R with s = 0: cofactorless verification accepts it
    // for every message.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = ed25519_dalek::VerifyingKey::from_bytes(&identity).unwrap();
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&identity);
    let forged = ed25519_dalek::Signature::from_bytes(&sig);
    assert!(weak.verify_strict(b"any", &forged).is_err());
    assert!(ed25519_dalek::Verifier::verify(&weak, b"any", &forged).is_ok());
    let mut keys = DetachedKeys::default();
    keys.add_key(PublicKey::Ed25519(weak));
    let found = keys.verify_file(Kind::Ed25519, &sig, &f.good, &f.good_sha);
    assert_eq!(found.unwrap(), None);
}

#[test]
fn files_are_hashed_as_they_stream() {
    let dir = Scratch::new("hash");
    let f = files(&dir);
    assert_eq!(sha256_file(&f.good).unwrap(), f.good_sha);
    assert_eq!(sha256_file(&f.bad).unwrap(), f.bad_sha);
    assert!(matches!(
        sha256_file(&dir.path("absent")),
        Err(Error::Io { .. })
    ));
}
