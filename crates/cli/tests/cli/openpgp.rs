//! OpenPGP detached signatures against the real GnuPG: both directions.

use std::path::Path;
use std::process::Command;

use crate::util::{cairn, ok};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// gpg with its own home directory, never the user's keyring.
pub(crate) fn gpg(home: &Path) -> Command {
    let mut cmd = Command::new("gpg");
    cmd.arg("--homedir").arg(home).args(["--batch", "--no-tty"]);
    cmd
}

pub(crate) struct Agent<'a>(pub(crate) &'a Path);

impl Drop for Agent<'_> {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.0)
            .args(["--kill", "all"])
            .output();
    }
}

#[test]
fn gpg_verifies_cairn_signatures_and_cairn_verifies_gpg_signatures() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("gnupg");
    std::fs::create_dir(&home).unwrap();
    std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let _agent = Agent(&home);
    let file = dir.path().join("plugin.so");
    std::fs::write(&file, crate::util::plugin(200_000, 77)).unwrap();

    for algo in ["ed25519", "p256", "secp256k1"] {
        // cairn → gpg: import the exported key, verify armored and binary signatures.
        let key = dir.path().join(format!("{algo}.pem"));
        ok(cairn().args(["keygen", "--algo", algo, "--out", s(&key)]));
        let asc = dir.path().join(format!("{algo}.key.asc"));
        let exported = ok(cairn().args([
            "key",
            "pub",
            "--openpgp",
            "--user-id",
            &format!("Cairn {algo} <{algo}@example.test>"),
            s(&key),
        ]));
        std::fs::write(&asc, &exported.stdout).unwrap();
        let imported = ok(gpg(&home).arg("--import").arg(&asc));
        assert!(
            String::from_utf8_lossy(&imported.stderr).contains("imported: 1"),
            "{algo}: {}",
            String::from_utf8_lossy(&imported.stderr)
        );
        for (format, ext) in [("openpgp", "asc"), ("openpgp-binary", "sig")] {
            let sig = dir.path().join(format!("{algo}.{ext}"));
            ok(cairn().args([
                "sign",
                "--key",
                s(&key),
                "--format",
                format,
                "--out",
                s(&sig),
                s(&file),
            ]));
            let verified = ok(gpg(&home).arg("--verify").arg(&sig).arg(&file));
            let said = String::from_utf8_lossy(&verified.stderr);
            assert!(
                said.contains("Good signature from \"Cairn"),
                "{algo} {format}: {said}"
            );
            // cairn checks its own, against the SPKI key and against the OpenPGP key.
            ok(cairn().args([
                "verify",
                "--key",
                &format!("{}.pub", s(&key)),
                "--signature-file",
                s(&sig),
                s(&file),
            ]));
            ok(cairn().args([
                "verify",
                "--key",
                s(&asc),
                "--signature-file",
                s(&sig),
                s(&file),
            ]));
        }
        // A changed file fails in gpg and in cairn.
        let other = dir.path().join("other.so");
        std::fs::write(&other, b"not the plugin").unwrap();
        let sig = dir.path().join(format!("{algo}.asc"));
        assert!(
            !gpg(&home)
                .arg("--verify")
                .arg(&sig)
                .arg(&other)
                .output()
                .unwrap()
                .status
                .success()
        );
        let out = cairn()
            .args([
                "verify",
                "--key",
                s(&asc),
                "--signature-file",
                s(&sig),
                s(&other),
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
    }

    // gpg → cairn: a key gpg made (its default ed25519, and nistp256), detached signatures.
    for (algo, uid) in [
        ("ed25519", "GnuPG Ed <ed@example.test>"),
        ("nistp256", "GnuPG P256 <p@example.test>"),
    ] {
        ok(gpg(&home).args([
            "--passphrase",
            "",
            "--pinentry-mode",
            "loopback",
            "--quick-gen-key",
            uid,
            algo,
            "sign",
            "never",
        ]));
        let public = dir.path().join(format!("gpg-{algo}.asc"));
        let exported = ok(gpg(&home).args(["--armor", "--export", uid]));
        std::fs::write(&public, &exported.stdout).unwrap();
        for armor in [true, false] {
            let sig = dir.path().join(format!("gpg-{algo}-{armor}.sig"));
            let mut cmd = gpg(&home);
            cmd.args([
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
                "--local-user",
                uid,
                "--detach-sign",
                "--output",
            ])
            .arg(&sig);
            if armor {
                cmd.arg("--armor");
            }
            ok(cmd.arg(&file));
            let out = ok(cairn().args([
                "verify",
                "--key",
                s(&public),
                "--signature-file",
                s(&sig),
                s(&file),
            ]));
            assert!(String::from_utf8_lossy(&out.stdout).contains("signature OK"));
            // And not with the wrong key.
            let out = cairn()
                .args([
                    "verify",
                    "--key",
                    s(&dir.path().join("p256.key.asc")),
                    "--signature-file",
                    s(&sig),
                    s(&file),
                ])
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(1), "{algo}");
        }
    }
}
