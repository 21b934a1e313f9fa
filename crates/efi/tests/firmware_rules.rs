//! `cairn_efi::verify` decides as UEFI firmware does, over images signed by sbsign (the
//! reference signer) and by Cairn: db allows by certificate chain or digest, dbx refuses
//! by certificate or digest and always wins, a tampered image is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

use cairn_efi::siglist::{self, SignatureList};
use cairn_efi::verify::{Allowed, Database, Refused, verify};
use cairn_efi::{Guid, authenticode};

const HELLO: &str = "/usr/lib/efitools/x86_64-linux-gnu/HelloWorld.efi";

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!(
            "{:?}: {e} (./scripts/test installs the tools)",
            cmd.get_program()
        )
    });
    assert!(out.status.success(), "{cmd:?}: {out:?}");
}

/// A CA (self-signed) and a leaf it issued, RSA-2048, by openssl: `(ca.crt, leaf.key, leaf.crt)`.
fn chain(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let p = |n: &str| dir.join(n);
    run(Command::new("openssl")
        .args([
            "req", "-new", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
        ])
        .args(["-subj", "/CN=cairn test ca/", "-keyout"])
        .arg(p("ca.key"))
        .arg("-out")
        .arg(p("ca.crt")));
    run(Command::new("openssl")
        .args([
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=cairn test signer/",
            "-keyout",
        ])
        .arg(p("leaf.key"))
        .arg("-out")
        .arg(p("leaf.csr")));
    run(Command::new("openssl")
        .args(["x509", "-req", "-sha256", "-days", "30", "-in"])
        .arg(p("leaf.csr"))
        .arg("-CA")
        .arg(p("ca.crt"))
        .arg("-CAkey")
        .arg(p("ca.key"))
        .args(["-CAcreateserial", "-out"])
        .arg(p("leaf.crt")));
    (p("ca.crt"), p("leaf.key"), p("leaf.crt"))
}

fn sbsign(dir: &Path, key: &Path, cert: &Path) -> Vec<u8> {
    let out = dir.join("sbsigned.efi");
    run(Command::new("sbsign")
        .arg("--key")
        .arg(key)
        .arg("--cert")
        .arg(cert)
        .arg("--output")
        .arg(&out)
        .arg(HELLO));
    std::fs::read(out).unwrap()
}

fn db_of(files: &[&Path]) -> Database {
    let mut db = Database::default();
    for f in files {
        db.add_file(&std::fs::read(f).unwrap()).unwrap();
    }
    db
}

fn der(cert: &Path) -> Vec<u8> {
    cairn_efi::cert::certificate_der(&std::fs::read(cert).unwrap()).unwrap()
}

#[test]
fn an_sbsign_signed_image_is_decided_like_the_firmware_does() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, leaf_key, leaf) = chain(dir.path());
    let image = sbsign(dir.path(), &leaf_key, &leaf);
    let none = Database::default();

    // The leaf itself in db, or the CA that issued it, as a certificate or an ESL.
    let owner: Guid = "0a0b0c0d-0e0f-1011-1213-141516171819".parse().unwrap();
    let esl = dir.path().join("db.esl");
    std::fs::write(
        &esl,
        siglist::to_bytes(&[SignatureList::x509(owner, &der(&ca))]),
    )
    .unwrap();
    for db in [db_of(&[&leaf]), db_of(&[&ca]), db_of(&[&esl])] {
        let allowed = verify(&image, &db, &none).unwrap().unwrap();
        assert!(
            matches!(allowed, Allowed::Signed { ref signer, .. } if signer.contains("cairn test signer")),
            "{allowed:?}"
        );
    }
    // A db that knows neither: refused.
    let other = tempfile::tempdir().unwrap();
    let (stranger, _, _) = chain(other.path());
    assert!(matches!(
        verify(&image, &db_of(&[&stranger]), &none).unwrap(),
        Err(Refused::NotTrusted(_))
    ));

    // dbx wins: the leaf, the CA, or the image's digest.
    let digest = authenticode::digest(&image).unwrap();
    let by_digest = Database {
        digests: vec![digest],
        ..Default::default()
    };
    let db = db_of(&[&ca]);
    assert!(matches!(
        verify(&image, &db, &db_of(&[&leaf])).unwrap(),
        Err(Refused::CertificateInDbx(_))
    ));
    assert!(matches!(
        verify(&image, &db, &db_of(&[&ca])).unwrap(),
        Err(Refused::CertificateInDbx(_))
    ));
    assert_eq!(
        verify(&image, &db, &by_digest).unwrap(),
        Err(Refused::DigestInDbx)
    );

    // A byte changed in the code: the signature no longer covers the image.
    let mut tampered = image.clone();
    tampered[2000] ^= 0xff;
    assert!(matches!(
        verify(&tampered, &db, &none).unwrap(),
        Err(Refused::NotTrusted(_))
    ));
}

#[test]
fn an_unsigned_image_needs_its_digest_in_db() {
    let image = std::fs::read(HELLO).unwrap();
    let none = Database::default();
    assert_eq!(
        verify(&image, &none, &none).unwrap(),
        Err(Refused::Unsigned)
    );
    let digest = authenticode::digest(&image).unwrap();
    let db = Database {
        digests: vec![digest],
        ..Default::default()
    };
    assert_eq!(verify(&image, &db, &none).unwrap(), Ok(Allowed::DigestInDb));
    assert_eq!(verify(&image, &db, &db).unwrap(), Err(Refused::DigestInDbx));
}

#[test]
fn what_cairn_signs_verifies_under_its_chain() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, leaf_key, leaf) = chain(dir.path());
    let secret = cairn_secmem::read_pem_file(&leaf_key).unwrap();
    let key = cairn_efi::sign::EfiKey::new(secret.der, &std::fs::read(&leaf).unwrap()).unwrap();
    let signed = cairn_efi::sign::sign(&std::fs::read(HELLO).unwrap(), &key)
        .unwrap()
        .image;
    let none = Database::default();
    assert!(verify(&signed, &db_of(&[&ca]), &none).unwrap().is_ok());
    assert!(matches!(
        verify(&signed, &db_of(&[&ca]), &db_of(&[&leaf])).unwrap(),
        Err(Refused::CertificateInDbx(_))
    ));
}

#[test]
fn a_signed_update_serves_as_db() {
    use cairn_efi::auth::{EfiTime, Variable, signed_update};
    let dir = tempfile::tempdir().unwrap();
    let (ca, leaf_key, leaf) = chain(dir.path());
    let image = sbsign(dir.path(), &leaf_key, &leaf);
    let secret = cairn_secmem::read_pem_file(&leaf_key).unwrap();
    let kek = cairn_efi::sign::EfiKey::new(secret.der, &std::fs::read(&leaf).unwrap()).unwrap();
    let owner: Guid = "0a0b0c0d-0e0f-1011-1213-141516171819".parse().unwrap();
    let list = siglist::to_bytes(&[SignatureList::x509(owner, &der(&ca))]);
    let time = EfiTime::parse("2026-12-02 00:00:00").unwrap();
    let update = signed_update(Variable::Db, time, true, &list, &kek).unwrap();
    let mut db = Database::default();
    db.add_file(&update).unwrap();
    assert_eq!(db.certificates, vec![der(&ca)]);
    assert!(verify(&image, &db, &Database::default()).unwrap().is_ok());
    assert!(Database::default().add_file(&update[..30]).is_err());
}

/// Two signatures: one db trusts allows the image, unless the other's signer is in dbx.
/// Two signatures: the first, which db trusts, allows the image, unless the second's signer
/// is in dbx: every signature is weighed, as the firmware weighs them.
#[test]
fn dbx_on_any_signature_refuses_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let (_, first_key, first) = chain(dir.path());
    let other = tempfile::tempdir().unwrap();
    let (second_ca, second_key, second) = chain(other.path());
    let load = |key: &Path, cert: &Path| {
        let secret = cairn_secmem::read_pem_file(key).unwrap();
        cairn_efi::sign::EfiKey::new(secret.der, &std::fs::read(cert).unwrap()).unwrap()
    };
    let once =
        cairn_efi::sign::sign(&std::fs::read(HELLO).unwrap(), &load(&second_key, &second)).unwrap();
    let twice = cairn_efi::sign::sign(&once.image, &load(&first_key, &first)).unwrap();
    let db = db_of(&[&second_ca]);
    assert!(
        verify(&twice.image, &db, &Database::default())
            .unwrap()
            .is_ok()
    );
    assert!(matches!(
        verify(&twice.image, &db, &db_of(&[&first])).unwrap(),
        Err(Refused::CertificateInDbx(_))
    ));
}
