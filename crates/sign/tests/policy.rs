#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The trust policy: deny beats allow, thresholds count distinct keys, updates only go up.

use cairn_sign::policy::{
    Artifact, Decision, Denial, DeniedPackage, LogPin, Policy, PolicyDoc, PolicyError, Root,
    SignerEntry,
};
use cairn_sign::{Algorithm, PrivateKey};
use chrono::{DateTime, Duration, Utc};

fn now() -> DateTime<Utc> {
    "2026-11-30T12:00:00Z".parse().unwrap()
}

fn key(algo: Algorithm) -> PrivateKey {
    PrivateKey::generate(algo).unwrap()
}

struct Fixture {
    roots: Vec<PrivateKey>,
    alice: PrivateKey,
    bob: PrivateKey,
}

fn fixture() -> Fixture {
    Fixture {
        roots: vec![
            key(Algorithm::Ed25519),
            key(Algorithm::P256),
            key(Algorithm::Secp256k1),
        ],
        alice: key(Algorithm::Secp256k1),
        bob: key(Algorithm::Ed25519),
    }
}

fn doc(f: &Fixture, version: u64) -> PolicyDoc {
    PolicyDoc {
        version,
        expires: now() + Duration::days(30),
        root: Root {
            threshold: 2,
            keys: f.roots.iter().map(|k| k.public().to_pem()).collect(),
        },
        signers: vec![
            SignerEntry {
                name: "memflow team".into(),
                threshold: 1,
                packages: vec!["memflow-*".into()],
                keys: vec![f.alice.public().to_pem()],
                openpgp: vec![],
                not_before: None,
                not_after: None,
            },
            SignerEntry {
                name: "bob".into(),
                threshold: 1,
                packages: vec!["bob-*".into()],
                keys: vec![f.bob.public().to_pem()],
                openpgp: vec![],
                not_before: Some(now() - Duration::days(1)),
                not_after: Some(now() + Duration::days(1)),
            },
        ],
        deny: Default::default(),
        log: Some(LogPin {
            key: "example.test/log+0a0b0c0d+AQ".into(),
        }),
    }
}

fn signed(d: PolicyDoc, by: &[&PrivateKey]) -> Policy {
    let mut p = Policy::from_doc(d).unwrap();
    for k in by {
        p.sign(k).unwrap();
    }
    // Through text and back, as a user's file would be.
    Policy::parse(&p.to_text()).unwrap()
}

fn decide(
    p: &Policy,
    name: &str,
    version: &str,
    bytes: &[u8],
    signer: &PrivateKey,
    at: DateTime<Utc>,
) -> Decision {
    let digest = cairn_sign::sha256(bytes);
    let sig = signer.sign(&cairn_sign::Signed::bytes(bytes)).unwrap();
    p.evaluate(
        &Artifact {
            name,
            version: Some(version),
            digest: &digest,
            bytes: Some(bytes),
        },
        &[sig],
        at,
    )
}

#[test]
fn allows_signers_for_their_globs_only() {
    let f = fixture();
    let p = signed(doc(&f, 1), &[&f.roots[0], &f.roots[1]]);
    p.verify(now()).unwrap();
    assert!(
        matches!(decide(&p, "memflow-win32", "0.2.0", b"x", &f.alice, now()), Decision::Allowed { ref signer, .. } if signer == "memflow team")
    );
    assert!(matches!(
        decide(&p, "bob-tool", "1.0.0", b"y", &f.bob, now()),
        Decision::Allowed { .. }
    ));
    // Alice's key is trusted, but not for bob's packages.
    assert!(matches!(
        decide(&p, "bob-tool", "1.0.0", b"y", &f.alice, now()),
        Decision::Denied(Denial::OutsideGlobs { ref package, .. }) if package == "bob-tool"
    ));
    // Bob's key outside its validity window.
    assert!(matches!(
        decide(
            &p,
            "bob-tool",
            "1.0.0",
            b"y",
            &f.bob,
            now() + Duration::days(2)
        ),
        Decision::Denied(Denial::OutsideWindow { .. })
    ));
    // A stranger's key, and a signature over other bytes.
    let stranger = key(Algorithm::Secp256k1);
    assert_eq!(
        decide(&p, "memflow-x", "1.0.0", b"x", &stranger, now()),
        Decision::Denied(Denial::NoTrustedSignature)
    );
    let digest = cairn_sign::sha256(b"real");
    let wrong = f.alice.sign(&cairn_sign::Signed::bytes(b"forged")).unwrap();
    let d = p.evaluate(
        &Artifact {
            name: "memflow-x",
            version: None,
            digest: &digest,
            bytes: None,
        },
        &[wrong],
        now(),
    );
    assert_eq!(d, Decision::Denied(Denial::NoTrustedSignature));
    assert_eq!(p.log_key(), Some("example.test/log+0a0b0c0d+AQ"));
}

#[test]
fn deny_beats_allow_for_keys_digests_and_versions() {
    let f = fixture();
    let allowed = signed(doc(&f, 1), &[&f.roots[0], &f.roots[1]]);
    assert!(matches!(
        decide(
            &allowed,
            "memflow-win32",
            "0.2.5",
            b"bytes",
            &f.alice,
            now()
        ),
        Decision::Allowed { .. }
    ));

    let mut d = doc(&f, 2);
    d.deny.keys.push(f.alice.public().id().to_uppercase());
    let p = signed(d, &[&f.roots[0], &f.roots[1]]);
    assert_eq!(
        decide(&p, "memflow-win32", "0.2.5", b"bytes", &f.alice, now()),
        Decision::Denied(Denial::Key(f.alice.public().id()))
    );

    let mut d = doc(&f, 2);
    d.deny
        .digests
        .push(hex::encode(cairn_sign::sha256(b"bytes")));
    let p = signed(d, &[&f.roots[0], &f.roots[1]]);
    assert!(matches!(
        decide(&p, "memflow-win32", "0.2.5", b"bytes", &f.alice, now()),
        Decision::Denied(Denial::Digest(_))
    ));
    assert!(matches!(
        decide(&p, "memflow-win32", "0.2.5", b"other", &f.alice, now()),
        Decision::Allowed { .. }
    ));

    let mut d = doc(&f, 2);
    d.deny.packages.push(DeniedPackage {
        name: "memflow-win*".into(),
        versions: ">=0.2.0, <0.2.6".into(),
    });
    let p = signed(d, &[&f.roots[0], &f.roots[1]]);
    assert!(matches!(
        decide(&p, "memflow-win32", "0.2.5", b"b", &f.alice, now()),
        Decision::Denied(Denial::Version { .. })
    ));
    assert!(matches!(
        decide(&p, "memflow-win32", "0.2.6", b"b", &f.alice, now()),
        Decision::Allowed { .. }
    ));
    assert!(matches!(
        decide(&p, "memflow-linux", "0.2.5", b"b", &f.alice, now()),
        Decision::Allowed { .. }
    ));
}

#[test]
fn expired_or_undersigned_policies_are_refused() {
    let f = fixture();
    let p = signed(doc(&f, 1), &[&f.roots[0], &f.roots[1]]);
    assert!(matches!(
        p.verify(now() + Duration::days(31)),
        Err(PolicyError::Expired(_))
    ));

    let one = signed(doc(&f, 1), &[&f.roots[0]]);
    let err = one.verify(now()).unwrap_err();
    assert!(
        matches!(
            err,
            PolicyError::Threshold {
                have: 1,
                need: 2,
                ..
            }
        ),
        "{err}"
    );

    // The same key signing twice is one distinct key.
    let mut twice = Policy::from_doc(doc(&f, 1)).unwrap();
    twice.sign(&f.roots[0]).unwrap();
    let line = twice.to_text().lines().last().unwrap().to_owned();
    let text = format!("{}{line}\n", twice.to_text());
    let err = Policy::parse(&text).unwrap().verify(now()).unwrap_err();
    assert!(
        matches!(err, PolicyError::Threshold { have: 1, .. }),
        "{err}"
    );

    // A non-root key's signature does not count.
    let outsider = signed(doc(&f, 1), &[&f.roots[0], &f.alice]);
    assert!(outsider.verify(now()).is_err());

    // One changed byte of the body breaks every signature.
    let text = p.to_text().replacen("memflow team", "memflow tean", 1);
    assert!(matches!(
        Policy::parse(&text).unwrap().verify(now()),
        Err(PolicyError::Threshold { have: 0, .. })
    ));
}

#[test]
fn updates_need_a_higher_version_and_both_root_thresholds() {
    let f = fixture();
    let current = signed(doc(&f, 5), &[&f.roots[0], &f.roots[1]]);
    let next = signed(doc(&f, 6), &[&f.roots[1], &f.roots[2]]);
    current.check_update(&next, now()).unwrap();

    let same = signed(doc(&f, 5), &[&f.roots[0], &f.roots[1]]);
    assert!(matches!(
        current.check_update(&same, now()),
        Err(PolicyError::Version { old: 5, new: 5 })
    ));
    let lower = signed(doc(&f, 4), &[&f.roots[0], &f.roots[1]]);
    assert!(matches!(
        current.check_update(&lower, now()),
        Err(PolicyError::Version { .. })
    ));

    // Rotation to brand-new roots signed only by the new roots: refused.
    let new_roots = [key(Algorithm::Ed25519), key(Algorithm::Ed25519)];
    let mut rotated = doc(&f, 6);
    rotated.root.keys = new_roots.iter().map(|k| k.public().to_pem()).collect();
    let only_new = signed(rotated.clone(), &[&new_roots[0], &new_roots[1]]);
    only_new.verify(now()).unwrap();
    let err = current.check_update(&only_new, now()).unwrap_err();
    assert!(
        matches!(
            err,
            PolicyError::Threshold {
                which: "the previous policy's",
                have: 0,
                need: 2
            }
        ),
        "{err}"
    );
    // With one old root it is still too few; with two it goes through.
    let one_old = signed(
        rotated.clone(),
        &[&new_roots[0], &new_roots[1], &f.roots[0]],
    );
    assert!(current.check_update(&one_old, now()).is_err());
    let both = signed(
        rotated,
        &[&new_roots[0], &new_roots[1], &f.roots[0], &f.roots[2]],
    );
    current.check_update(&both, now()).unwrap();
    // …but signed by the old roots alone, the new roots' own threshold is missing.
    let mut rotated = doc(&f, 7);
    rotated.root.keys = new_roots.iter().map(|k| k.public().to_pem()).collect();
    let old_only = signed(rotated, &[&f.roots[0], &f.roots[1]]);
    assert!(matches!(
        current.check_update(&old_only, now()),
        Err(PolicyError::Threshold {
            which: "its own",
            ..
        })
    ));
}

#[test]
fn malformed_policies_are_refused_clearly() {
    let f = fixture();
    for (text, why) in [
        ("version = 1\n", "missing field"),
        ("garbage = [", "invalid"),
    ] {
        let err = Policy::parse(text).unwrap_err().to_string();
        assert!(err.contains(why), "{err}");
    }
    let mut d = doc(&f, 1);
    d.root.threshold = 4;
    assert!(
        Policy::from_doc(d)
            .unwrap_err()
            .to_string()
            .contains("root threshold")
    );
    let mut d = doc(&f, 1);
    d.deny.packages.push(DeniedPackage {
        name: "x".into(),
        versions: "not a range".into(),
    });
    assert!(
        Policy::from_doc(d)
            .unwrap_err()
            .to_string()
            .contains("bad version range")
    );
    let text = signed(doc(&f, 1), &[&f.roots[0]]).to_text() + "version = 9\n";
    assert!(matches!(
        Policy::parse(&text),
        Err(PolicyError::SignatureLine(_))
    ));
}
