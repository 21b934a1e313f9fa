#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The trust policy holding OpenPGP keys GnuPG made: files with detached signatures of any
//! kind decided on, and the keys kept through the policy's text.
#![cfg(feature = "openpgp")]

mod gpg;

use std::path::PathBuf;

use cairn_sign::detached::Kind;
use cairn_sign::policy::{
    Artifact, Decision, Denial, DeniedPackage, Policy, PolicyDoc, PolicyError, Root, SignerEntry,
};
use cairn_sign::{Algorithm, PrivateKey, Signed};
use chrono::{DateTime, Duration, Utc};
use gpg::{Gpg, package_bytes};

fn now() -> DateTime<Utc> {
    "2026-11-30T12:00:00Z".parse().unwrap()
}

/// A GnuPG key, its fingerprint and a file it signed.
struct GpgSigned {
    gpg: Gpg,
    fpr: String,
    armored: String,
    file: PathBuf,
    sha: [u8; 32],
    sig: Vec<u8>,
}

fn gpg_signed() -> GpgSigned {
    let gpg = Gpg::new();
    let fpr = gpg.key("Elastic <e@example.org>", "ed25519");
    let armored = String::from_utf8(gpg.export(&[&fpr], true)).unwrap();
    let bytes = package_bytes();
    let file = gpg.home.write("nginx-1.2.0.zip", &bytes);
    let sig = gpg.sign("e@example.org", &file, true);
    GpgSigned {
        sha: cairn_sign::sha256(&bytes),
        gpg,
        fpr,
        armored,
        file,
        sig,
    }
}

fn doc(entries: Vec<SignerEntry>) -> PolicyDoc {
    let root = PrivateKey::generate(Algorithm::Ed25519).unwrap();
    PolicyDoc {
        version: 1,
        expires: now() + Duration::days(30),
        root: Root {
            threshold: 1,
            keys: vec![root.public().to_pem()],
        },
        signers: entries,
        ..Default::default()
    }
}

fn entry(keys: Vec<String>, openpgp: Vec<String>, threshold: usize) -> SignerEntry {
    SignerEntry {
        name: "elastic".into(),
        threshold,
        packages: vec!["nginx*".into()],
        keys,
        openpgp,
        not_before: None,
        not_after: None,
    }
}

/// Through text and back, as a user's file would be.
fn policy(d: PolicyDoc) -> Policy {
    Policy::parse(&Policy::from_doc(d).unwrap().to_text()).unwrap()
}

fn decide(p: &Policy, s: &GpgSigned, name: &str, sigs: &[(Kind, Vec<u8>)]) -> Decision {
    let artifact = Artifact {
        name,
        version: Some("1.2.0"),
        digest: &s.sha,
        bytes: None,
    };
    p.evaluate_file(&artifact, sigs, &s.file, now()).unwrap()
}

#[test]
fn a_signer_entry_of_only_a_gpg_key_decides_by_its_fingerprint() {
    let s = gpg_signed();
    let p = policy(doc(vec![entry(vec![], vec![s.armored.clone()], 1)]));
    assert_eq!(p.detached_keys().ids(), vec![s.fpr.clone()]);
    assert_eq!(p.signer_keys().count(), 0);
    let sigs = [(Kind::OpenPgp, s.sig.clone())];
    assert_eq!(
        decide(&p, &s, "nginx", &sigs),
        Decision::Allowed {
            signer: "elastic".into(),
            keys: vec![s.fpr.clone()],
        }
    );
    assert_eq!(
        decide(&p, &s, "apache", &sigs),
        Decision::Denied(Denial::OutsideGlobs {
            key: s.fpr.clone(),
            signer: "elastic".into(),
            package: "apache".into(),
        })
    );
    // Another key's signature, and a malformed one, count for nothing.
    let other = s.gpg.key("Other <o@example.org>", "ed25519");
    assert_ne!(other, s.fpr);
    let by_other = [
        (Kind::OpenPgp, s.gpg.sign("o@example.org", &s.file, false)),
        (Kind::OpenPgp, b"-----BEGIN PGP SIGNATURE-----\n".to_vec()),
    ];
    assert_eq!(
        decide(&p, &s, "nginx", &by_other),
        Decision::Denied(Denial::NoTrustedSignature)
    );
}

#[test]
fn the_deny_list_refuses_gpg_fingerprints_and_versions() {
    let s = gpg_signed();
    let sigs = [(Kind::OpenPgp, s.sig.clone())];
    let mut d = doc(vec![entry(vec![], vec![s.armored.clone()], 1)]);
    d.deny.keys.push(s.fpr.to_uppercase());
    assert_eq!(
        decide(&policy(d), &s, "nginx", &sigs),
        Decision::Denied(Denial::Key(s.fpr.clone()))
    );
    let mut d = doc(vec![entry(vec![], vec![s.armored.clone()], 1)]);
    d.deny.packages.push(DeniedPackage {
        name: "nginx".into(),
        versions: "<1.3".into(),
    });
    assert!(matches!(
        decide(&policy(d), &s, "nginx", &sigs),
        Decision::Denied(Denial::Version { .. })
    ));
}

#[test]
fn thresholds_count_cairn_and_gpg_keys_together() {
    let s = gpg_signed();
    let cairn = PrivateKey::generate(Algorithm::Ed25519).unwrap();
    let p = policy(doc(vec![entry(
        vec![cairn.public().to_pem()],
        vec![s.armored.clone()],
        2,
    )]));
    let raw = cairn
        .sign(&Signed::bytes(&std::fs::read(&s.file).unwrap()))
        .unwrap();
    let both = [(Kind::OpenPgp, s.sig.clone()), (Kind::Ed25519, raw.clone())];
    let mut keys = vec![cairn.public().id(), s.fpr.clone()];
    keys.sort();
    assert_eq!(
        decide(&p, &s, "nginx", &both),
        Decision::Allowed {
            signer: "elastic".into(),
            keys,
        }
    );
    assert_eq!(
        decide(&p, &s, "nginx", &both[..1]),
        Decision::Denied(Denial::BelowThreshold {
            signer: "elastic".into(),
            have: 1,
            need: 2,
        })
    );
    // The same signature twice is still one key.
    let twice = [
        (Kind::OpenPgp, s.sig.clone()),
        (Kind::OpenPgp, s.sig.clone()),
    ];
    assert!(matches!(
        decide(&p, &s, "nginx", &twice),
        Decision::Denied(Denial::BelowThreshold { have: 1, .. })
    ));
}

#[test]
fn openpgp_keys_survive_the_policy_text_and_entries_need_a_key() {
    let s = gpg_signed();
    let p = Policy::from_doc(doc(vec![entry(vec![], vec![s.armored.clone()], 1)])).unwrap();
    let text = p.to_text();
    assert!(text.contains("openpgp"));
    let again = Policy::parse(&text).unwrap();
    assert_eq!(again.doc().signers[0].openpgp, vec![s.armored.clone()]);
    assert!(again.doc().signers[0].keys.is_empty());
    assert_eq!(again.detached_keys().ids(), vec![s.fpr.clone()]);

    let malformed = |d: PolicyDoc| match Policy::from_doc(d) {
        Err(PolicyError::Malformed(why)) => why,
        other => panic!("accepted: {other:?}"),
    };
    assert!(malformed(doc(vec![entry(vec![], vec![], 1)])).contains("no key"));
    assert!(malformed(doc(vec![entry(vec![], vec![s.armored.clone()], 2)])).contains("threshold"));
    let garbage =
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n";
    assert!(malformed(doc(vec![entry(vec![], vec![garbage.into()], 1)])).contains("OpenPGP"));
}
