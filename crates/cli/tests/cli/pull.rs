//! End to end over loopback: keygen → sign → push → ls → info → pull with a policy, and
//! every way a pull must fail without writing anything.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::util::{Served, cairn, ok, plugin, sha256_hex};

const TOKEN: &str = "pull-test-token";

/// A `cairn` command with its config and state in `home`.
pub(crate) fn client(home: &Path) -> Command {
    let mut cmd = cairn();
    cmd.env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env_remove("CAIRN_REGISTRY")
        .env_remove("CAIRN_TOKEN")
        .env_remove("CAIRN_CONFIG");
    cmd
}

pub(crate) fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn s(p: &Path) -> &str {
    p.to_str().unwrap()
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

    /// A policy signed by the root key: `edit` adds signers and deny rules.
    fn policy(&self, name: &str, edit: &[&[&str]]) -> PathBuf {
        let policy = self.path(name);
        let home = self.dir.path();
        ok(client(home)
            .args(["trust", "init", "--out", s(&policy), "--root-key"])
            .arg(self.path("root.pem.pub"))
            .args(["--log-key", &self.vkey]));
        for args in edit {
            ok(client(home)
                .args(["trust"])
                .args(args.iter().map(|a| a.replace("POLICY", s(&policy)))));
        }
        ok(client(home).args([
            "trust",
            "sign",
            s(&policy),
            "--key",
            s(&self.path("root.pem")),
        ]));
        ok(client(home).args(["trust", "check", s(&policy)]));
        policy
    }

    /// `cairn pull` into a fresh directory: the outcome and what the directory holds.
    fn pull(&self, policy: &Path, out: &str) -> (Output, Vec<String>) {
        let out_dir = self.path(out);
        let result = client(self.dir.path())
            .args([
                "pull",
                "synthc:1.2.3",
                "--trust",
                s(policy),
                "--out",
                s(&out_dir),
            ])
            .args(["--registry", &self.served.url])
            .output()
            .unwrap();
        (result, crate::util::file_names(&out_dir))
    }
}

fn refused(w: &World, policy: &Path, out: &str, why: &str) {
    let (result, files) = w.pull(policy, out);
    let err = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success(), "pull should fail ({why})");
    assert!(err.contains(why), "expected {why:?} in: {err}");
    assert!(
        files.is_empty(),
        "{out}: files written despite the failure: {files:?}"
    );
}

#[test]
fn keygen_sign_push_ls_pull_with_a_policy() {
    let dir = tempfile::tempdir().unwrap();
    let home_buf = dir.path().to_path_buf();
    let home = home_buf.as_path();
    let key = home.join("alice.pem");
    ok(client(home).args(["keygen", "--algo", "secp256k1", "--out", s(&key)]));
    ok(client(home).args([
        "keygen",
        "--algo",
        "ed25519",
        "--out",
        s(&home.join("root.pem")),
    ]));
    ok(client(home).args(["keygen", "--out", s(&home.join("mallory.pem"))]));

    let data = home.join("data");
    let served = Served::start(
        cairn(),
        &[
            "--addr",
            "127.0.0.1:0",
            "--data",
            s(&data),
            "--token",
            TOKEN,
            "--public-key",
            &format!("{}.pub", s(&key)),
        ],
    );
    let vkey = stdout(&ok(cairn().args(["log", "key", "--data", s(&data)])))
        .trim()
        .to_owned();
    let w = World { dir, served, vkey };

    // Sign and push; the config file supplies registry and token.
    let file = w.path("libsynthc.so");
    let bytes = plugin(50_000, 4242);
    std::fs::write(&file, &bytes).unwrap();
    let digest = sha256_hex(&bytes);
    std::fs::create_dir_all(w.path("config/cairn")).unwrap();
    std::fs::write(
        w.path("config/cairn/config.toml"),
        format!("registry = \"{}\"\ntoken = \"{TOKEN}\"\n", w.served.url),
    )
    .unwrap();
    let sig = stdout(&ok(client(home).args(["sign", "--key", s(&key), s(&file)])));
    ok(client(home).args([
        "verify",
        "--key",
        &format!("{}.pub", s(&key)),
        "--signature",
        sig.trim(),
        s(&file),
    ]));
    let pushed = stdout(&ok(client(home).args(["push", s(&file), "--key", s(&key)])));
    assert!(pushed.contains("Added"), "{pushed}");
    let again = stdout(&ok(client(home).args(["push", s(&file), "--key", s(&key)])));
    assert!(again.contains("AlreadyExists"), "{again}");

    // List and inspect.
    let names = stdout(&ok(client(home).args(["ls"])));
    assert!(names.contains("synthc"), "{names}");
    let listed: serde_json::Value =
        serde_json::from_str(&stdout(&ok(client(home).args(["ls", "synthc", "--json"])))).unwrap();
    assert_eq!(listed["plugins"][0]["digest"], digest.as_str());
    let info: serde_json::Value =
        serde_json::from_str(&stdout(&ok(client(home).args(["info", &digest, "--json"])))).unwrap();
    assert_eq!(info["verified"], true);
    assert!(info["log_index"].is_u64());

    // Pull with a policy that trusts alice for synth*: the file and its .meta.
    let good = w.policy(
        "good.toml",
        &[&[
            "add-signer",
            "POLICY",
            "--name",
            "synth team",
            "--key",
            &format!("{}.pub", s(&key)),
            "--package",
            "synth*",
        ]],
    );
    let (result, files) = w.pull(&good, "out-good");
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert_eq!(files, [format!("{digest}.meta"), format!("{digest}.so")]);
    assert_eq!(
        std::fs::read(w.path("out-good").join(format!("{digest}.so"))).unwrap(),
        bytes
    );
    let meta: serde_json::Value = serde_json::from_slice(
        &std::fs::read(w.path("out-good").join(format!("{digest}.meta"))).unwrap(),
    )
    .unwrap();
    assert_eq!(meta["digest"], digest.as_str());
    assert!(
        w.path("state/cairn/checkpoints")
            .read_dir()
            .unwrap()
            .count()
            == 1,
        "checkpoint saved"
    );

    // The same decision offline: cairn verify --trust.
    let by_policy = |policy: &Path| {
        client(home)
            .args([
                "verify",
                "--trust",
                s(policy),
                "--name",
                "synthc",
                "--plugin-version",
                "1.2.3",
            ])
            .args(["--signature", sig.trim(), s(&file)])
            .output()
            .unwrap()
    };
    let allowed = by_policy(&good);
    assert!(
        allowed.status.success(),
        "{}",
        String::from_utf8_lossy(&allowed.stderr)
    );
    assert!(stdout(&allowed).contains("policy signer \"synth team\""));

    // Refusals, each with nothing written.
    let denied = w.policy(
        "denied.toml",
        &[
            &[
                "add-signer",
                "POLICY",
                "--name",
                "synth team",
                "--key",
                &format!("{}.pub", s(&key)),
                "--package",
                "synth*",
            ],
            &["deny", "POLICY", "--key", &format!("{}.pub", s(&key))],
        ],
    );
    refused(&w, &denied, "out-denied", "is on the policy's deny list");
    let out = by_policy(&denied);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("deny list"));
    let elsewhere = w.policy(
        "globs.toml",
        &[&[
            "add-signer",
            "POLICY",
            "--name",
            "others",
            "--key",
            &format!("{}.pub", s(&key)),
            "--package",
            "other-*",
        ]],
    );
    refused(&w, &elsewhere, "out-globs", "outside its package globs");
    let stranger = w.policy(
        "stranger.toml",
        &[&[
            "add-signer",
            "POLICY",
            "--name",
            "mallory",
            "--key",
            s(&w.path("mallory.pem.pub")),
            "--package",
            "*",
        ]],
    );
    refused(
        &w,
        &stranger,
        "out-stranger",
        "no key of the trust policy signed it",
    );
    let version = w.policy(
        "version.toml",
        &[
            &[
                "add-signer",
                "POLICY",
                "--name",
                "synth team",
                "--key",
                &format!("{}.pub", s(&key)),
                "--package",
                "synth*",
            ],
            &[
                "deny",
                "POLICY",
                "--package",
                "synth*",
                "--versions",
                ">=1.2.0, <1.3.0",
            ],
        ],
    );
    refused(&w, &version, "out-version", "is denied by the policy");
    // A policy pinning another log: the checkpoint signature does not verify.
    let other_log = w.policy(
        "otherlog.toml",
        &[&[
            "add-signer",
            "POLICY",
            "--name",
            "synth team",
            "--key",
            &format!("{}.pub", s(&key)),
            "--package",
            "synth*",
        ]],
    );
    let text = std::fs::read_to_string(&other_log).unwrap();
    let (name, _) = w.vkey.split_once('+').unwrap();
    let forged = cairn_tlog::NoteSigner::from_seed(name, &[7; 32])
        .unwrap()
        .verifier()
        .to_string();
    let edited = text.replace(&w.vkey, &forged);
    std::fs::write(&other_log, edited).unwrap();
    ok(client(home).args(["trust", "log", s(&other_log), "--key", &forged]));
    ok(client(home).args([
        "trust",
        "sign",
        s(&other_log),
        "--key",
        s(&w.path("root.pem")),
    ]));
    refused(
        &w,
        &other_log,
        "out-otherlog",
        "log check failed: checkpoint signature",
    );
    // An unsigned policy is refused before anything is fetched.
    let unsigned = w.path("unsigned.toml");
    ok(client(home).args([
        "trust",
        "init",
        "--out",
        s(&unsigned),
        "--root-key",
        s(&w.path("root.pem.pub")),
    ]));
    refused(&w, &unsigned, "out-unsigned", "root key(s); 1 needed");

    // The stored blob is damaged: the registry does not serve it whole (it cuts the body
    // short), and nothing is kept. A registry that does serve other bytes whole is caught
    // by their digest (lies.rs).
    let blob = data.join("blobs/sha256").join(&digest[..2]).join(&digest);
    let mut tampered = std::fs::read(&blob).unwrap();
    tampered[100] ^= 1;
    std::fs::write(&blob, tampered).unwrap();
    refused(&w, &good, "out-tampered", "the body ended after");

    // rm, then it is gone.
    ok(client(home).args(["rm", &digest]));
    let gone = client(home).args(["info", &digest]).output().unwrap();
    assert!(!gone.status.success());
    assert!(String::from_utf8_lossy(&gone.stderr).contains("404"));
}

#[test]
fn client_commands_fail_clearly_without_a_registry_or_token() {
    let dir = tempfile::tempdir().unwrap();
    let out = client(dir.path()).args(["ls"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no registry"));
    let out = client(dir.path())
        .args(["rm", &"ab".repeat(32), "--registry", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("no token"));
    let out = client(dir.path())
        .args([
            "info",
            "../../etc/passwd",
            "--registry",
            "http://127.0.0.1:9",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a SHA-256 digest"));
    let out = ok(client(dir.path()).args(["completions", "bash"]));
    assert!(stdout(&out).contains("cairn"));
}
