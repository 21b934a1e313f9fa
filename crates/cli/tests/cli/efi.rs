//! `cairn efi hash|esl|show` against efitools (Debian `efitools`, installed by
//! `./scripts/test`).

use std::process::Command;

use crate::util::{cairn, ok};

const HELLO: &str = "/usr/lib/efitools/x86_64-linux-gnu/HelloWorld.efi";
const OWNER: &str = "6b3a1e2c-0d4f-4c8a-9e5b-7f1a2b3c4d5e";

fn efitools(args: &[&std::ffi::OsStr], tool: &str) -> String {
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool}: {e} (install Debian's efitools; ./scripts/test does)"));
    assert!(out.status.success(), "{tool}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An RSA-2048 key and self-signed certificate made by openssl: `(NAME.key, NAME.crt)`.
fn self_signed(
    dir: &std::path::Path,
    name: &str,
    cn: &str,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let (key, cert) = (
        dir.join(format!("{name}.key")),
        dir.join(format!("{name}.crt")),
    );
    ok(Command::new("openssl")
        .args([
            "req", "-new", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
        ])
        .args(["-subj", &format!("/CN={cn}/"), "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert));
    (key, cert)
}

#[test]
fn esl_hash_and_show_agree_with_efitools() {
    let dir = tempfile::tempdir().unwrap();
    let (_, cert) = self_signed(dir.path(), "db", "cairn cli test");

    // The image digest is the one efitools puts in an image-hash list.
    let said = String::from_utf8(ok(cairn().args(["efi", "hash", HELLO])).stdout).unwrap();
    let digest = said.split_whitespace().next().unwrap().to_owned();
    let theirs = efitools(
        &[HELLO.as_ref(), dir.path().join("h.esl").as_os_str()],
        "hash-to-efi-sig-list",
    );
    assert!(theirs.contains(&format!("HASH IS {digest}")), "{theirs}");

    // A certificate list, byte for byte what cert-to-efi-sig-list writes.
    let ours = dir.path().join("db.esl");
    ok(cairn()
        .args(["efi", "esl", "--owner", OWNER, "--cert"])
        .arg(&cert)
        .arg("--out")
        .arg(&ours));
    let reference = dir.path().join("ref.esl");
    efitools(
        &[
            "-g".as_ref(),
            OWNER.as_ref(),
            cert.as_os_str(),
            reference.as_os_str(),
        ],
        "cert-to-efi-sig-list",
    );
    assert_eq!(
        std::fs::read(&ours).unwrap(),
        std::fs::read(&reference).unwrap()
    );

    // Both kinds in one file, listed.
    let both = dir.path().join("both.esl");
    ok(cairn()
        .args(["efi", "esl", "--owner", OWNER, "--cert"])
        .arg(&cert)
        .args(["--hash", HELLO, "--out"])
        .arg(&both));
    let shown = String::from_utf8(ok(cairn().arg("efi").arg("show").arg(&both)).stdout).unwrap();
    assert!(shown.contains("list 0: X509, 1 entries"), "{shown}");
    assert!(shown.contains("subject CN=cairn cli test"), "{shown}");
    assert!(
        shown.contains(&format!(
            "list 1: SHA256, 1 entries\n  owner {OWNER}  {digest}"
        )),
        "{shown}"
    );

    // A truncated list is refused, clearly.
    let bytes = std::fs::read(&both).unwrap();
    let cut = dir.path().join("cut.esl");
    std::fs::write(&cut, &bytes[..bytes.len() - 5]).unwrap();
    let out = cairn().arg("efi").arg("show").arg(&cut).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is not an EFI signature list")
            && err.contains("malformed EFI signature list"),
        "{err}"
    );
    // And so is an image that is not one.
    let out = cairn().args(["efi", "hash"]).arg(&cut).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not an EFI image"));
}

/// `cairn efi sign` writes an image sbverify accepts under the db certificate, with the
/// digest `cairn efi hash` and efitools compute; a key that is not the certificate's is
/// refused before anything is written.
#[test]
fn efi_sign_makes_an_image_sbverify_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let make = |name: &str| self_signed(dir.path(), name, name);
    let (key, cert) = make("db");
    let signed = dir.path().join("hello.signed.efi");
    let said = String::from_utf8(
        ok(cairn()
            .args(["efi", "sign", HELLO, "--key"])
            .arg(&key)
            .arg("--cert")
            .arg(&cert)
            .arg("--out")
            .arg(&signed))
        .stdout,
    )
    .unwrap();
    let hashed = String::from_utf8(ok(cairn().args(["efi", "hash", HELLO])).stdout).unwrap();
    let digest = hashed.split_whitespace().next().unwrap();
    assert!(said.contains(digest), "{said} / {hashed}");
    let verified = ok(Command::new("sbverify")
        .arg("--cert")
        .arg(&cert)
        .arg(&signed));
    assert!(String::from_utf8_lossy(&verified.stdout).contains("Signature verification OK"));

    // `cairn efi verify`: allowed under db; refused (exit 1) with the certificate in dbx,
    // and for the unsigned original.
    let allowed = ok(cairn()
        .args(["efi", "verify"])
        .arg(&signed)
        .arg("--db")
        .arg(&cert));
    assert!(String::from_utf8_lossy(&allowed.stdout).contains("allowed: signed by CN=db"));
    let refused = cairn()
        .args(["efi", "verify"])
        .arg(&signed)
        .arg("--db")
        .arg(&cert)
        .arg("--dbx")
        .arg(&cert)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stdout).contains("REFUSED: certificate CN=db"));
    let unsigned = cairn()
        .args(["efi", "verify", HELLO, "--db"])
        .arg(&cert)
        .output()
        .unwrap();
    assert_eq!(unsigned.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unsigned.stdout).contains("not signed"));

    let (other_key, _) = make("other");
    let out = dir.path().join("never.efi");
    let refused = cairn()
        .args(["efi", "sign", HELLO, "--key"])
        .arg(&other_key)
        .arg("--cert")
        .arg(&cert)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("does not belong to the certificate")
    );
    assert!(!out.exists());
}

/// `cairn efi auth` writes what `sign-efi-sig-list` writes for the same key, list and time;
/// `show` reads it, and `verify` takes it as db.
#[test]
fn efi_auth_matches_sign_efi_sig_list() {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = self_signed(dir.path(), "kek", "kek");
    let esl = dir.path().join("db.esl");
    ok(cairn()
        .args(["efi", "esl", "--owner", OWNER, "--cert"])
        .arg(&cert)
        .arg("--out")
        .arg(&esl));
    let when = "2027-01-31 23:59:58";
    let ours = dir.path().join("ours.auth");
    ok(cairn()
        .args(["efi", "auth", "db"])
        .arg(&esl)
        .arg("--key")
        .arg(&key)
        .arg("--cert")
        .arg(&cert)
        .args(["--time", when, "--append", "--out"])
        .arg(&ours));
    let theirs = dir.path().join("theirs.auth");
    efitools(
        &[
            "-t".as_ref(),
            when.as_ref(),
            "-a".as_ref(),
            "-k".as_ref(),
            key.as_os_str(),
            "-c".as_ref(),
            cert.as_os_str(),
            "db".as_ref(),
            esl.as_os_str(),
            theirs.as_os_str(),
        ],
        "sign-efi-sig-list",
    );
    assert_eq!(
        std::fs::read(&ours).unwrap(),
        std::fs::read(&theirs).unwrap()
    );
    let shown = String::from_utf8(ok(cairn().arg("efi").arg("show").arg(&ours)).stdout).unwrap();
    assert!(
        shown.contains(&format!("signed update at {when}")),
        "{shown}"
    );
    assert!(shown.contains("subject CN=kek"), "{shown}");
    // An unknown variable is refused by name.
    let out = cairn()
        .args(["efi", "auth", "DB"])
        .arg(&esl)
        .args(["--key", "k", "--cert", "c", "--out", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected PK, KEK, db or dbx"));
}

/// `cairn efi keygen` makes what make_keys.sh makes: PK, KEK and db keys and certificates
/// that openssl, efitools and sbverify take, lists and updates efitools would write, and
/// with `--chained` a PK → KEK → db chain openssl verifies.
#[test]
fn efi_keygen_makes_a_key_set_the_tools_accept() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let when = "2026-12-02 12:00:00";
    ok(cairn()
        .args([
            "efi",
            "keygen",
            "--name",
            "Cairn Test",
            "--time",
            when,
            "--out",
        ])
        .arg(&keys));
    let k = |f: &str| keys.join(f);
    for n in ["PK", "KEK", "db"] {
        let mode = std::fs::metadata(k(&format!("{n}.key")))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{n}.key");
        let subject = ok(Command::new("openssl")
            .args(["x509", "-noout", "-subject", "-in"])
            .arg(k(&format!("{n}.crt"))));
        assert!(String::from_utf8_lossy(&subject.stdout).contains(&format!("Cairn Test {n}")));
    }
    let owner = std::fs::read_to_string(k("GUID"))
        .unwrap()
        .trim()
        .to_owned();
    let esl = dir.path().join("db.esl");
    efitools(
        &[
            "-g".as_ref(),
            owner.as_ref(),
            k("db.crt").as_os_str(),
            esl.as_os_str(),
        ],
        "cert-to-efi-sig-list",
    );
    assert_eq!(
        std::fs::read(&esl).unwrap(),
        std::fs::read(k("db.esl")).unwrap()
    );
    for (var, by) in [("PK", "PK"), ("KEK", "PK"), ("db", "KEK")] {
        let auth = dir.path().join(format!("{var}.auth"));
        efitools(
            &[
                "-t".as_ref(),
                when.as_ref(),
                "-k".as_ref(),
                k(&format!("{by}.key")).as_os_str(),
                "-c".as_ref(),
                k(&format!("{by}.crt")).as_os_str(),
                var.as_ref(),
                k(&format!("{var}.esl")).as_os_str(),
                auth.as_os_str(),
            ],
            "sign-efi-sig-list",
        );
        assert_eq!(
            std::fs::read(&auth).unwrap(),
            std::fs::read(k(&format!("{var}.auth"))).unwrap(),
            "{var}.auth"
        );
    }
    let signed = dir.path().join("hello.efi");
    ok(cairn()
        .args(["efi", "sign", HELLO, "--key"])
        .arg(k("db.key"))
        .arg("--cert")
        .arg(k("db.crt"))
        .arg("--out")
        .arg(&signed));
    ok(Command::new("sbverify")
        .arg("--cert")
        .arg(k("db.crt"))
        .arg(&signed));
    // What is not secret is readable by others, as sbsign's and openssl's output is.
    for public in [
        signed.clone(),
        k("db.crt"),
        k("db.esl"),
        k("db.auth"),
        k("GUID"),
    ] {
        let mode = std::fs::metadata(&public).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644, "{}", public.display());
    }
    // Keys are never replaced.
    let again = cairn()
        .args(["efi", "keygen", "--name", "X", "--out"])
        .arg(&keys)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("keys are never replaced"));

    // Chained: PK issues KEK, KEK issues db.
    let chained = dir.path().join("chained");
    ok(cairn()
        .args([
            "efi",
            "keygen",
            "--chained",
            "--name",
            "Cairn Chain",
            "--out",
        ])
        .arg(&chained));
    let c = |f: &str| chained.join(f);
    let verified = ok(Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(c("PK.crt"))
        .arg("-untrusted")
        .arg(c("KEK.crt"))
        .arg(c("db.crt")));
    assert!(String::from_utf8_lossy(&verified.stdout).contains("OK"));
    let signed = dir.path().join("chained.efi");
    ok(cairn()
        .args(["efi", "sign", HELLO, "--key"])
        .arg(c("db.key"))
        .arg("--cert")
        .arg(c("db.crt"))
        .arg("--out")
        .arg(&signed));
    let allowed = ok(cairn()
        .args(["efi", "verify"])
        .arg(&signed)
        .arg("--db")
        .arg(c("KEK.crt")));
    assert!(
        String::from_utf8_lossy(&allowed.stdout)
            .contains("chains to db certificate CN=Cairn Chain KEK")
    );
}
