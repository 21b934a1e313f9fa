//! cairn-efi against the tools of the field: sbsign and osslsigncode for the Authenticode
//! digest, efitools for signature lists. `./scripts/test` installs them (Debian
//! `sbsigntool`, `osslsigncode`, `efitools`, `systemd-boot-efi`); missing, a test fails and
//! says so.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

use cairn_efi::siglist::{self, SignatureList};
use cairn_efi::{Guid, authenticode};

const EFITOOLS: &str = "/usr/lib/efitools/x86_64-linux-gnu";
const STUB: &str = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub";
const OWNER: &str = "11111111-2222-3333-4444-555555555555";

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!(
            "{:?}: {e} (install Debian's sbsigntool, osslsigncode, efitools and \
             systemd-boot-efi; ./scripts/test does)",
            cmd.get_program()
        )
    });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed: {text}");
    text
}

fn exists(path: &str) -> PathBuf {
    let p = PathBuf::from(path);
    assert!(
        p.exists(),
        "{path} is missing: install Debian's efitools and systemd-boot-efi (./scripts/test does)"
    );
    p
}

/// A self-signed RSA-2048 db key and certificate (PEM), made by openssl.
fn db_key(dir: &Path) -> (PathBuf, PathBuf) {
    let (key, cert) = (dir.join("db.key"), dir.join("db.crt"));
    run(Command::new("openssl")
        .args([
            "req", "-new", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
        ])
        .args(["-subj", "/CN=cairn test db/", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert));
    (key, cert)
}

/// The digest osslsigncode computes of a signed image ("Calculated message digest"),
/// after checking it equals the one the signature carries.
fn osslsigncode_digest(signed: &Path) -> String {
    // It exits non-zero for a certificate it does not trust; the digests are printed first.
    let out = Command::new("osslsigncode")
        .arg("verify")
        .arg("-in")
        .arg(signed)
        .output()
        .expect("osslsigncode (install Debian's osslsigncode; ./scripts/test does)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().trim_start_matches(':').trim().to_ascii_lowercase())
            .unwrap_or_else(|| panic!("no {name:?} in: {text}"))
    };
    let calculated = field("Calculated message digest");
    assert_eq!(field("Current message digest"), calculated);
    calculated
}

/// Images of several shapes: efitools' binaries, systemd's stub (its length is not a
/// multiple of 8), and one with data past its last section.
fn images(dir: &Path) -> Vec<PathBuf> {
    let mut images: Vec<PathBuf> = ["HelloWorld.efi", "KeyTool.efi", "LockDown.efi"]
        .iter()
        .map(|n| exists(&format!("{EFITOOLS}/{n}")))
        .collect();
    images.push(exists(STUB));
    let mut trailing = std::fs::read(&images[0]).unwrap();
    trailing.extend((0..1003u32).map(|i| (i * 7) as u8));
    let path = dir.join("trailing.efi");
    std::fs::write(&path, trailing).unwrap();
    images.push(path);
    images.push(uki(dir));
    images
}

/// A unified kernel image: systemd's stub with a command line, an os-release and, for a
/// kernel, HelloWorld's bytes (the digest covers any section contents alike).
fn uki(dir: &Path) -> PathBuf {
    use cairn_efi::uki::{Part, plan};
    let stub = std::fs::read(exists(STUB)).unwrap();
    let contents: [(&str, Vec<u8>); 3] = [
        (".osrel", b"ID=cairn-test\n".to_vec()),
        (".cmdline", b"console=ttyS0 quiet".to_vec()),
        (
            ".linux",
            std::fs::read(format!("{EFITOOLS}/HelloWorld.efi")).unwrap(),
        ),
    ];
    let parts: Vec<Part> = contents
        .iter()
        .map(|(name, data)| Part {
            name: (*name).into(),
            size: data.len() as u64,
        })
        .collect();
    let plan = plan(&stub, &parts).unwrap();
    let mut image = plan.head.clone();
    for ((_, data), at) in contents.iter().zip(&plan.offsets) {
        image.resize(*at as usize, 0);
        image.extend_from_slice(data);
    }
    image.resize(plan.len as usize, 0);
    let path = dir.join("uki.efi");
    std::fs::write(&path, image).unwrap();
    // objdump reads the sections back where the plan put them.
    let sections = run(Command::new("objdump").arg("-h").arg(&path));
    for (name, _) in &contents {
        assert!(sections.contains(name), "{name} missing:\n{sections}");
    }
    path
}

/// `pesign --hash`'s digest of an image ("hash: …").
fn pesign_digest(image: &Path) -> String {
    let text = run(Command::new("pesign").arg("--hash").arg("--in").arg(image));
    text.lines()
        .find_map(|l| l.strip_prefix("hash: "))
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|| panic!("no hash in: {text}"))
}

/// Cairn's digest is pesign's over the image as it is (the firmware's), osslsigncode's over
/// the image sbsign signed, and efitools' over the image padded to 8 bytes as sbsign pads
/// it (the same thing for an image already a multiple of 8 long).
#[test]
fn the_authenticode_digest_is_what_pesign_osslsigncode_and_efitools_compute() {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = db_key(dir.path());
    let mut unaligned = 0;
    for image in images(dir.path()) {
        let bytes = std::fs::read(&image).unwrap();
        let ours = hex::encode(authenticode::digest(&bytes).unwrap());
        assert_eq!(ours, pesign_digest(&image), "{}", image.display());
        let mut padded = bytes.clone();
        padded.resize(bytes.len().next_multiple_of(8), 0);
        let padded_digest = hex::encode(authenticode::digest(&padded).unwrap());
        if padded.len() == bytes.len() {
            assert_eq!(padded_digest, ours);
        } else {
            unaligned += 1;
            assert_ne!(
                padded_digest,
                ours,
                "{}: padding must count",
                image.display()
            );
        }
        let signed = dir.path().join("signed.efi");
        run(Command::new("sbsign")
            .arg("--key")
            .arg(&key)
            .arg("--cert")
            .arg(&cert)
            .arg("--output")
            .arg(&signed)
            .arg(&image));
        assert_eq!(
            padded_digest,
            osslsigncode_digest(&signed),
            "{}",
            image.display()
        );
        let signed_bytes = std::fs::read(&signed).unwrap();
        assert_eq!(
            hex::encode(authenticode::digest(&signed_bytes).unwrap()),
            padded_digest,
            "{}: a signature must not change the digest",
            image.display()
        );
        let esl = dir.path().join("hash.esl");
        run(Command::new("hash-to-efi-sig-list").arg(&image).arg(&esl));
        let lists = siglist::parse(&std::fs::read(&esl).unwrap()).unwrap();
        assert_eq!(lists[0].kind, Guid::CERT_SHA256);
        assert_eq!(hex::encode(&lists[0].entries[0].data), padded_digest);
    }
    assert!(unaligned >= 2, "the images must include unaligned ones");
}

#[test]
fn what_the_digest_covers() {
    let image = std::fs::read(exists(&format!("{EFITOOLS}/HelloWorld.efi"))).unwrap();
    let digest = authenticode::digest(&image).unwrap();
    // The CheckSum field is not covered (e_lfanew + 24 + 64).
    let pe = u32::from_le_bytes(image[0x3c..0x40].try_into().unwrap()) as usize;
    let mut checksum = image.clone();
    checksum[pe + 24 + 64] ^= 0xff;
    assert_eq!(authenticode::digest(&checksum).unwrap(), digest);
    // A byte in the last section's data is.
    let mut code = image.clone();
    let at = image.len() - 100;
    code[at] ^= 0xff;
    assert_ne!(authenticode::digest(&code).unwrap(), digest);
}

#[test]
fn hostile_images_are_errors_not_panics() {
    let image = std::fs::read(exists(&format!("{EFITOOLS}/HelloWorld.efi"))).unwrap();
    for cut in [0, 1, 0x40, 0x80, 0x100, 0x200, 0x400, image.len() / 2] {
        let _ = authenticode::digest(&image[..cut]);
    }
    let pe = u32::from_le_bytes(image[0x3c..0x40].try_into().unwrap()) as usize;
    let opt = pe + 24;
    let sections = opt + usize::from(u16::from_le_bytes([image[pe + 20], image[pe + 21]]));
    let cert_dir = opt + 112 + 4 * 8;
    // An absurd SizeOfHeaders; a section's data far past the end; a certificate table
    // past the end, or of absurd size.
    let cases: [&[(usize, u32)]; 4] = [
        &[(opt + 60, u32::MAX)],
        &[(sections + 20, u32::MAX - 8)],
        &[(cert_dir, u32::MAX - 4), (cert_dir + 4, 64)],
        &[(cert_dir, 8), (cert_dir + 4, u32::MAX)],
    ];
    for fields in cases {
        let mut bad = image.clone();
        for &(at, value) in fields {
            bad[at..at + 4].copy_from_slice(&value.to_le_bytes());
        }
        assert!(authenticode::digest(&bad).is_err(), "{fields:?}");
    }
    assert!(authenticode::digest(b"MZ not a PE").is_err());
}

#[test]
fn signature_lists_are_byte_identical_to_efitools() {
    let dir = tempfile::tempdir().unwrap();
    let (_, cert) = db_key(dir.path());
    let der = dir.path().join("db.der");
    run(Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(&cert)
        .arg("-out")
        .arg(&der));
    let der = std::fs::read(&der).unwrap();
    let owner: Guid = OWNER.parse().unwrap();
    let ours = siglist::to_bytes(&[SignatureList::x509(owner, &der)]);

    let theirs = dir.path().join("theirs.esl");
    run(Command::new("cert-to-efi-sig-list")
        .args(["-g", OWNER])
        .arg(&cert)
        .arg(&theirs));
    assert_eq!(std::fs::read(&theirs).unwrap(), ours);

    // efitools reads ours back to the same certificate and owner.
    let esl = dir.path().join("ours.esl");
    std::fs::write(&esl, &ours).unwrap();
    let said = run(Command::new("sig-list-to-certs")
        .arg(&esl)
        .arg(dir.path().join("back")));
    assert!(said.contains(OWNER), "{said}");
    assert_eq!(std::fs::read(dir.path().join("back-0.der")).unwrap(), der);
}

fn load_key(key: &Path, cert: &Path) -> cairn_efi::sign::EfiKey {
    let secret = cairn_secmem::read_pem_file(key).unwrap();
    cairn_efi::sign::EfiKey::new(secret.der, &std::fs::read(cert).unwrap()).unwrap()
}

#[test]
fn sbverify_and_osslsigncode_accept_what_cairn_signs() {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = db_key(dir.path());
    let db = load_key(&key, &cert);
    for image in images(dir.path()) {
        let bytes = std::fs::read(&image).unwrap();
        let made = cairn_efi::sign::sign(&bytes, &db).unwrap();
        let signed = made.image;
        // Signing pads to 8 bytes, as sbsign does; the signature covers the padded image.
        let mut padded = bytes.clone();
        padded.resize(bytes.len().next_multiple_of(8), 0);
        let padded = authenticode::digest(&padded).unwrap();
        assert_eq!(authenticode::digest(&signed).unwrap(), padded);
        assert_eq!(made.digest, padded);
        let path = dir.path().join("cairn-signed.efi");
        std::fs::write(&path, &signed).unwrap();
        let said = run(Command::new("sbverify").arg("--cert").arg(&cert).arg(&path));
        assert!(
            said.contains("Signature verification OK"),
            "{}: {said}",
            image.display()
        );
        let out = Command::new("osslsigncode")
            .args(["verify", "-CAfile"])
            .arg(&cert)
            .arg("-in")
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}: {text}", image.display());
        assert!(text.contains("Signature verification: ok"), "{text}");
        // It checks the PE checksum Cairn recomputed, too.
        assert!(
            text.contains("PE checksum") && !text.contains("MISMATCH"),
            "{text}"
        );
    }
}

/// A second signature is appended over the same digest; sbverify takes either certificate,
/// and removing the signatures gives back the padded, unsigned image.
#[test]
fn a_second_signature_is_appended_and_signatures_removed() {
    let dir = tempfile::tempdir().unwrap();
    let (key_a, cert_a) = db_key(dir.path());
    let other = tempfile::tempdir().unwrap();
    let (key_b, cert_b) = db_key(other.path());
    let (a, b) = (load_key(&key_a, &cert_a), load_key(&key_b, &cert_b));
    let image = std::fs::read(exists(STUB)).unwrap();
    let once = cairn_efi::sign::sign(&image, &a).unwrap();
    let twice = cairn_efi::sign::sign(&once.image, &b).unwrap();
    assert_eq!(twice.digest, once.digest);
    let path = dir.path().join("twice.efi");
    std::fs::write(&path, &twice.image).unwrap();
    for cert in [&cert_a, &cert_b] {
        let said = run(Command::new("sbverify").arg("--cert").arg(cert).arg(&path));
        assert!(said.contains("Signature verification OK"), "{said}");
    }
    let listed = run(Command::new("sbverify").arg("--list").arg(&path));
    assert!(listed.contains("signature 2"), "{listed}");
    let bare = cairn_efi::sign::unsign(&twice.image).unwrap();
    let mut padded = image.clone();
    padded.resize(image.len().next_multiple_of(8), 0);
    assert_eq!(bare.len(), padded.len());
    assert_eq!(
        authenticode::digest(&bare).unwrap(),
        authenticode::digest(&padded).unwrap()
    );
    std::fs::write(&path, &bare).unwrap();
    let out = Command::new("sbverify")
        .arg("--list")
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("signature 1"), "{text}");
    assert!(cairn_efi::sign::unsign(&bare).is_err(), "nothing to remove");
}

#[test]
fn sbverify_refuses_a_cairn_signed_image_under_another_cert_or_tampered() {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = db_key(dir.path());
    let other_dir = tempfile::tempdir().unwrap();
    let (_, other) = db_key(other_dir.path());
    let db = load_key(&key, &cert);
    let bytes = std::fs::read(exists(&format!("{EFITOOLS}/HelloWorld.efi"))).unwrap();
    let mut signed = cairn_efi::sign::sign(&bytes, &db).unwrap().image;
    let path = dir.path().join("s.efi");
    std::fs::write(&path, &signed).unwrap();
    let refused = Command::new("sbverify")
        .arg("--cert")
        .arg(&other)
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        !refused.status.success(),
        "sbverify accepted another certificate"
    );
    signed[2000] ^= 0xff;
    std::fs::write(&path, &signed).unwrap();
    let refused = Command::new("sbverify")
        .arg("--cert")
        .arg(&cert)
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        !refused.status.success(),
        "sbverify accepted a tampered image"
    );
    // A key that is not the certificate's is refused when loading.
    let secret = cairn_secmem::read_pem_file(&key).unwrap();
    let err =
        cairn_efi::sign::EfiKey::new(secret.der, &std::fs::read(&other).unwrap()).unwrap_err();
    assert!(
        err.to_string()
            .contains("does not belong to the certificate"),
        "{err}"
    );
}

#[test]
fn signed_updates_are_byte_identical_to_sign_efi_sig_list() {
    use cairn_efi::auth::{EfiTime, Variable, parse, signed_update};
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = db_key(dir.path());
    let signer = load_key(&key, &cert);
    let esl = dir.path().join("list.esl");
    run(Command::new("cert-to-efi-sig-list")
        .args(["-g", OWNER])
        .arg(&cert)
        .arg(&esl));
    let list = std::fs::read(&esl).unwrap();
    let when = "2026-12-02 10:20:30";
    let time = EfiTime::parse(when).unwrap();
    for var in [Variable::Pk, Variable::Kek, Variable::Db, Variable::Dbx] {
        for append in [false, true] {
            let theirs = dir.path().join("theirs.auth");
            let mut cmd = Command::new("sign-efi-sig-list");
            cmd.args(["-t", when]);
            if append {
                cmd.arg("-a");
            }
            run(cmd
                .arg("-k")
                .arg(&key)
                .arg("-c")
                .arg(&cert)
                .arg(var.name())
                .arg(&esl)
                .arg(&theirs));
            let ours = signed_update(var, time, append, &list, &signer).unwrap();
            assert_eq!(
                ours,
                std::fs::read(&theirs).unwrap(),
                "{} append={append}",
                var.name()
            );
            let update = parse(&ours).unwrap();
            assert_eq!(update.list, &list[..]);
            assert_eq!(update.time, time.to_bytes());
        }
    }
    // Truncated or absurd: errors.
    let ours = signed_update(Variable::Db, time, false, &list, &signer).unwrap();
    for cut in [0, 10, 39, 100] {
        assert!(parse(&ours[..cut]).is_err(), "cut {cut}");
    }
    let mut absurd = ours.clone();
    absurd[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(parse(&absurd).is_err());
    assert!(EfiTime::parse("2026-13-02 10:20:30").is_err());
}
