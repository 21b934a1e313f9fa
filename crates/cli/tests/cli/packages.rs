//! Packages as Elastic's package-signing design has them, end to end with the real tools: a
//! `.zip` signed with `gpg --detach-sign` (RSA-3072 and Ed25519 keys), uploaded and
//! downloaded with curl and accepted by `gpg --verify` holding only the publisher's key;
//! the same through `cairn push` and `cairn pull` with a policy holding the gpg keys; every
//! refusal named; and the pulled package checked again offline.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::openpgp::{Agent, gpg};
use crate::pull::{client, s, stdout};
use crate::util::{Served, cairn, ok};

const TOKEN: &str = "package-test-token";

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A gpg home of its own (mode 0700, as gpg wants).
fn gpg_home(dir: &Path, name: &str) -> PathBuf {
    let home = dir.join(name);
    std::fs::create_dir(&home).unwrap();
    std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    home
}

/// Makes a signing key `uid` of `algo` in `home`; its armored export (what a publisher
/// hands out) at `out`, and its fingerprint.
fn gpg_key(home: &Path, uid: &str, algo: &str, out: &Path) -> String {
    ok(gpg(home)
        .args(["--pinentry-mode", "loopback", "--passphrase", ""])
        .args(["--quick-gen-key", uid, algo, "sign", "never"]));
    let exported = ok(gpg(home).args(["--export", "--armor", uid]));
    std::fs::write(out, &exported.stdout).unwrap();
    let listed = stdout(&ok(gpg(home).args(["--with-colons", "--fingerprint", uid])));
    listed
        .lines()
        .find_map(|l| l.strip_prefix("fpr:::::::::"))
        .map(|f| f.trim_end_matches(':').to_lowercase())
        .unwrap()
}

fn detach_sign(home: &Path, uid: &str, file: &Path, armor: bool) -> PathBuf {
    let sig = PathBuf::from(format!("{}.sig", file.display()));
    let mut cmd = gpg(home);
    cmd.args(["--local-user", uid, "--output", s(&sig)]);
    if armor {
        cmd.arg("--armor");
    }
    ok(cmd.arg("--detach-sign").arg(file));
    sig
}

/// A real zip archive holding an Elastic-style manifest.
fn zip(dir: &Path, name: &str, version: &str) -> PathBuf {
    let src = dir.join(format!("{name}-{version}-src"));
    std::fs::create_dir_all(&src).unwrap();
    let manifest = format!(
        "name: {name}\nversion: {version}\n{}",
        "x: y\n".repeat(2000)
    );
    std::fs::write(src.join("manifest.yml"), manifest).unwrap();
    let out = dir.join(format!("{name}-{version}.zip"));
    ok(Command::new("python3")
        .args(["-m", "zipfile", "-c", s(&out)])
        .arg(src.join("manifest.yml")));
    out
}

/// `gpg --verify` in a fresh home holding only `key`.
fn gpg_verifies(dir: &Path, home: &str, key: &Path, sig: &Path, file: &Path) -> String {
    let home = gpg_home(dir, home);
    let _agent = Agent(&home);
    ok(gpg(&home).arg("--import").arg(key));
    stderr(&ok(gpg(&home).arg("--verify").arg(sig).arg(file)))
}

struct World {
    dir: tempfile::TempDir,
    served: Served,
    vkey: String,
}

impl World {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn cairn(&self) -> Command {
        client(&self.path("home"))
    }

    /// A policy signed by the root key: the publishers' gpg keys may sign `nginx`, plus
    /// `deny` rules.
    fn policy(&self, name: &str, keys: &[&str], deny: &[&str]) -> PathBuf {
        let policy = self.path(name);
        ok(self
            .cairn()
            .args(["trust", "init", "--out", s(&policy), "--root-key"])
            .arg(self.path("root.pem.pub"))
            .args(["--log-key", &self.vkey]));
        let mut add = self.cairn();
        add.args(["trust", "add-signer", s(&policy), "--name", "publishers"])
            .args(["--package", "nginx"]);
        for k in keys {
            add.args(["--openpgp-key", s(&self.path(k))]);
        }
        ok(&mut add);
        if !deny.is_empty() {
            ok(self.cairn().args(["trust", "deny", s(&policy)]).args(deny));
        }
        ok(self
            .cairn()
            .args(["trust", "sign", s(&policy), "--key"])
            .arg(self.path("root.pem")));
        policy
    }

    fn pull(&self, spec: &str, policy: &Path, out: &str) -> (Output, Vec<String>) {
        let out_dir = self.path(out);
        let result = self
            .cairn()
            .args(["pull", spec, "--trust", s(policy), "--out", s(&out_dir)])
            .args(["--registry", &self.served.url])
            .output()
            .unwrap();
        (result, crate::util::file_names(&out_dir))
    }

    fn push(&self, file: &Path, version: &str, sig: &Path) -> Output {
        self.cairn()
            .args(["push", s(file), "--name", "nginx", "--version", version])
            .args(["--signature", s(sig)])
            .args(["--registry", &self.served.url, "--token", TOKEN])
            .output()
            .unwrap()
    }

    fn verify(&self, policy: &Path, proof: &Path, file: &Path) -> Output {
        self.cairn()
            .args(["verify", "--trust", s(policy), "--proof", s(proof), s(file)])
            .output()
            .unwrap()
    }
}

#[test]
fn gpg_signed_packages_pass_curl_gpg_and_cairn_and_every_lie_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let d = root.as_path();
    let home = gpg_home(d, "publisher");
    let _agent = Agent(&home);
    let rsa = gpg_key(
        &home,
        "RSA Publisher <rsa@example.test>",
        "rsa3072",
        &d.join("rsa.asc"),
    );
    let ed = gpg_key(
        &home,
        "Ed Publisher <ed@example.test>",
        "ed25519",
        &d.join("ed.asc"),
    );
    gpg_key(
        &home,
        "Outsider <out@example.test>",
        "ed25519",
        &d.join("out.asc"),
    );
    ok(client(&d.join("home")).args([
        "keygen",
        "--algo",
        "ed25519",
        "--out",
        s(&d.join("root.pem")),
    ]));
    // The registry checks package signatures with the publishers' OpenPGP keys.
    let data = d.join("data");
    let mut args = vec![
        "--addr",
        "127.0.0.1:0",
        "--data",
        s(&data),
        "--token",
        TOKEN,
    ];
    let keys: Vec<String> = ["rsa.asc", "ed.asc", "out.asc"]
        .iter()
        .map(|k| d.join(k).display().to_string())
        .collect();
    for k in &keys {
        args.extend(["--public-key", k.as_str()]);
    }
    let served = Served::start(cairn(), &args);
    let vkey = stdout(&ok(cairn().args(["log", "key", "--data", s(&data)])))
        .trim()
        .to_owned();
    let w = World { dir, served, vkey };

    let policy = w.policy("policy.toml", &["rsa.asc", "ed.asc"], &[]);
    // Each publisher key both ways: curl up and down with `gpg --verify` holding only the
    // publisher's key; `cairn push` and `cairn pull` with a policy holding the gpg keys.
    let publishers = [
        (
            "rsa@example.test",
            "rsa.asc",
            &rsa,
            false,
            "1.2",
            "RSA Publisher",
        ),
        (
            "ed@example.test",
            "ed.asc",
            &ed,
            true,
            "1.3",
            "Ed Publisher",
        ),
    ];
    for (uid, key, fingerprint, armor, minor, who) in publishers {
        // With curl: binary .sig for RSA, as Elastic's packages carry; armored for Ed25519.
        let version = format!("{minor}.0");
        let file = zip(d, "nginx", &version);
        let sig = detach_sign(&home, uid, &file, armor);
        let added = ok(Command::new("curl")
            .args(["-sS", "--fail-with-body"])
            .args(["-H", &format!("Authorization: Bearer {TOKEN}")])
            .args(["-F", &format!("file=@{}", s(&file))])
            .args(["-F", &format!("signature=@{}", s(&sig))])
            .args(["-F", "name=nginx", "-F", &format!("version={version}")])
            .arg(format!("{}/packages", w.served.url)));
        let added: serde_json::Value = serde_json::from_slice(&added.stdout).unwrap();
        assert_eq!(added["outcome"], "Added");
        assert_eq!(
            added["package"]["key_id"],
            fingerprint.as_str(),
            "the registry names the signer"
        );
        let name = format!("nginx-{version}.zip");
        assert_eq!(
            added["package"]["signature_path"],
            format!("/packages/nginx/{version}/{name}.sig")
        );
        let downloads = d.join(format!("downloads-{version}"));
        std::fs::create_dir(&downloads).unwrap();
        for f in [name.clone(), format!("{name}.sig")] {
            ok(Command::new("curl")
                .args(["-sS", "--fail", "-o", s(&downloads.join(&f))])
                .arg(format!("{}/packages/nginx/{version}/{f}", w.served.url)));
        }
        let sig_down = downloads.join(format!("{name}.sig"));
        assert_eq!(
            std::fs::read(&sig_down).unwrap(),
            std::fs::read(&sig).unwrap()
        );
        assert_eq!(
            std::fs::read(downloads.join(&name)).unwrap(),
            std::fs::read(&file).unwrap()
        );
        let said = gpg_verifies(
            d,
            &format!("curl-{version}"),
            &d.join(key),
            &sig_down,
            &downloads.join(&name),
        );
        assert!(
            said.contains(&format!("Good signature from \"{who}")),
            "{said}"
        );

        // With cairn push and cairn pull.
        let version = format!("{minor}.1");
        let file = zip(d, "nginx", &version);
        let sig = detach_sign(&home, uid, &file, armor);
        let pushed = w.push(&file, &version, &sig);
        assert!(
            pushed.status.success() && stdout(&pushed).contains("Added"),
            "{}",
            stderr(&pushed)
        );
        let out_dir = format!("pulled-{version}");
        let (out, files) = w.pull(&format!("nginx:{version}"), &policy, &out_dir);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stdout(&out).contains(&format!("nginx {version} verified")),
            "{}",
            stdout(&out)
        );
        let name = format!("nginx-{version}.zip");
        assert_eq!(
            files,
            [
                name.clone(),
                format!("{name}.sig"),
                format!("{name}.tlog-proof")
            ]
        );
        let pulled = w.path(&out_dir);
        assert_eq!(
            std::fs::read(pulled.join(&name)).unwrap(),
            std::fs::read(&file).unwrap()
        );
        let said = gpg_verifies(
            d,
            &format!("pull-{version}"),
            &d.join(key),
            &pulled.join(format!("{name}.sig")),
            &pulled.join(&name),
        );
        assert!(
            said.contains(&format!("Good signature from \"{who}")),
            "{said}"
        );
    }
    let zip13 = d.join("nginx-1.3.1.zip");
    let sig13 = d.join("nginx-1.3.1.zip.sig");
    let pulled13 = w.path("pulled-1.3.1");

    // Refused, named, nothing written: a key outside the policy, a denied version.
    let zip14 = zip(d, "nginx", "1.4.0");
    let sig14 = detach_sign(&home, "out@example.test", &zip14, true);
    assert!(w.push(&zip14, "1.4.0", &sig14).status.success());
    let (out, files) = w.pull("nginx:1.4.0", &policy, "outsider");
    assert!(!out.status.success() && files.is_empty(), "{files:?}");
    assert!(
        stderr(&out).contains("nginx 1.4.0: no key of the trust policy signed it"),
        "{}",
        stderr(&out)
    );
    let denying = w.policy(
        "deny.toml",
        &["rsa.asc", "ed.asc"],
        &["--package", "nginx", "--versions", "<1.3.0"],
    );
    let (out, files) = w.pull("nginx:1.2.0", &denying, "denied");
    assert!(!out.status.success() && files.is_empty(), "{files:?}");
    assert!(
        stderr(&out).contains("nginx 1.2.0 is denied by the policy (nginx <1.3.0)"),
        "{}",
        stderr(&out)
    );
    // A same-version re-upload with other bytes: 409, until the version is deleted.
    let pushed = w.push(&zip13, "1.2.0", &sig13);
    assert!(!pushed.status.success());
    assert!(
        stderr(&pushed).contains("409")
            && stderr(&pushed)
                .contains("package nginx 1.2.0 is published already with other bytes"),
        "{}",
        stderr(&pushed)
    );

    // Offline: the pulled package, its signature and its proof check with no registry.
    let ok_out = w.verify(
        &policy,
        &pulled13.join("nginx-1.3.1.zip.tlog-proof"),
        &pulled13.join("nginx-1.3.1.zip"),
    );
    assert!(ok_out.status.success(), "{}", stderr(&ok_out));
    assert!(
        stdout(&ok_out).contains("nginx 1.3.1 verified offline"),
        "{}",
        stdout(&ok_out)
    );
    let copy = |name: &str| {
        let to = w.path(name);
        std::fs::create_dir(&to).unwrap();
        for f in crate::util::file_names(&pulled13) {
            std::fs::copy(pulled13.join(&f), to.join(&f)).unwrap();
        }
        to
    };
    let byte = copy("changed-byte");
    let mut bytes = std::fs::read(byte.join("nginx-1.3.1.zip")).unwrap();
    bytes[40] ^= 1;
    std::fs::write(byte.join("nginx-1.3.1.zip"), bytes).unwrap();
    let sig = copy("changed-signature");
    std::fs::copy(&sig14, sig.join("nginx-1.3.1.zip.sig")).unwrap();
    let other = copy("other-proof");
    std::fs::copy(
        w.path("pulled-1.2.1/nginx-1.2.1.zip.tlog-proof"),
        other.join("nginx-1.3.1.zip.tlog-proof"),
    )
    .unwrap();
    for (dir, why) in [
        (&byte, "records bytes"),
        (&sig, "is not a signature the log entry"),
        (&other, "records bytes"),
    ] {
        let out = w.verify(
            &policy,
            &dir.join("nginx-1.3.1.zip.tlog-proof"),
            &dir.join("nginx-1.3.1.zip"),
        );
        assert!(!out.status.success(), "{}: should fail", dir.display());
        assert!(
            stderr(&out).contains(why),
            "{}: {}",
            dir.display(),
            stderr(&out)
        );
    }
}
