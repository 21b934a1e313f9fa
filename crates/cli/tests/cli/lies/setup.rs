//! The world of a lies test: alice's, root's and mallory's keys, a real `cairn serve`, the
//! lying proxy in front of it, and helpers to push, write policies and pull through it.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};

use super::proxy::{Lie, Proxy, start_proxy};
use crate::pull::{client, s, stdout};
use crate::util::{Served, cairn, ok, sha256_hex};

pub(crate) const TOKEN: &str = "lies-test-token";
pub(crate) const ORIGIN: &str = "lies.test/log";

pub(crate) struct Setup {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) served: Served,
    proxy: Arc<Proxy>,
    pub(crate) proxy_url: String,
    pub(crate) vkey: String,
}

impl Setup {
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) fn lie(&self, lie: Lie) {
        *self.proxy.lie.lock().unwrap() = lie;
    }

    /// A policy signed by the root key, pinning the registry's log: alice may sign `globs`;
    /// `deny` adds deny rules.
    pub(crate) fn policy(&self, name: &str, globs: &[&str], deny: &[&str]) -> PathBuf {
        self.policy_for(name, &self.vkey, globs, deny)
    }

    /// [`Setup::policy`], pinning the log of `vkey` instead.
    pub(crate) fn policy_for(
        &self,
        name: &str,
        vkey: &str,
        globs: &[&str],
        deny: &[&str],
    ) -> PathBuf {
        let policy = self.path(name);
        let home = self.dir.path();
        ok(client(home)
            .args([
                "trust",
                "init",
                "--force",
                "--out",
                s(&policy),
                "--root-key",
            ])
            .arg(self.path("root.pem.pub"))
            .args(["--log-key", vkey]));
        let mut add = client(home);
        add.args(["trust", "add-signer", s(&policy), "--name", "alice"])
            .args(["--key", s(&self.path("alice.pem.pub"))]);
        for g in globs {
            add.args(["--package", g]);
        }
        ok(&mut add);
        if !deny.is_empty() {
            ok(client(home).args(["trust", "deny", s(&policy)]).args(deny));
        }
        ok(client(home).args([
            "trust",
            "sign",
            s(&policy),
            "--key",
            s(&self.path("root.pem")),
        ]));
        policy
    }

    /// `cairn pull SPEC` through the proxy into a fresh directory.
    fn pull(&self, spec: &str, policy: &Path, out: &str) -> (Output, Vec<String>) {
        let out_dir = self.path(out);
        let result = client(self.dir.path())
            .args(["pull", spec, "--trust", s(policy), "--out", s(&out_dir)])
            .args(["--registry", &self.proxy_url])
            .output()
            .unwrap();
        (result, crate::util::file_names(&out_dir))
    }

    pub(crate) fn pulled(&self, spec: &str, policy: &Path, out: &str) -> Vec<String> {
        let (result, files) = self.pull(spec, policy, out);
        assert!(
            result.status.success(),
            "{spec}: {}",
            String::from_utf8_lossy(&result.stderr)
        );
        files
    }

    /// The pull fails, says `why`, and writes nothing.
    pub(crate) fn refused(&self, spec: &str, policy: &Path, out: &str, why: &[&str]) -> String {
        let (result, files) = self.pull(spec, policy, out);
        let err = String::from_utf8_lossy(&result.stderr).into_owned();
        assert!(!result.status.success(), "{out}: the pull should fail");
        for w in why {
            assert!(err.contains(w), "{out}: expected {w:?} in: {err}");
        }
        assert!(files.is_empty(), "{out}: files written: {files:?}");
        // What the user sees (run with --nocapture to list them).
        eprintln!("{out}: {}", err.trim());
        err
    }

    pub(crate) fn push(&self, name: &str, bytes: &[u8]) -> String {
        self.push_to(&self.served.url, TOKEN, name, bytes)
    }

    /// Pushes `bytes`, signed by alice, to the registry at `url` with `token`.
    pub(crate) fn push_to(&self, url: &str, token: &str, name: &str, bytes: &[u8]) -> String {
        let file = self.path(name);
        std::fs::write(&file, bytes).unwrap();
        let out = ok(client(self.dir.path())
            .args(["push", s(&file), "--key", s(&self.path("alice.pem"))])
            .args(["--registry", url, "--token", token]));
        assert!(stdout(&out).contains("Added"), "{}", stdout(&out));
        sha256_hex(bytes)
    }

    /// GET from the real server, bypassing the proxy.
    pub(crate) fn get(&self, path: &str) -> Vec<u8> {
        let url = format!("{}{path}", self.served.url);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let r = reqwest::get(&url).await.unwrap();
            assert!(r.status().is_success(), "GET {url}: {}", r.status());
            r.bytes().await.unwrap().to_vec()
        })
    }
}

pub(crate) fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    for (name, algo) in [
        ("alice.pem", "secp256k1"),
        ("root.pem", "ed25519"),
        ("mallory.pem", "secp256k1"),
    ] {
        ok(client(home).args(["keygen", "--algo", algo, "--out", s(&home.join(name))]));
    }
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
            "--log-origin",
            ORIGIN,
            "--public-key",
            s(&home.join("alice.pem.pub")),
        ],
    );
    let vkey = stdout(&ok(cairn().args([
        "log",
        "key",
        "--data",
        s(&data),
        "--log-origin",
        ORIGIN,
    ])))
    .trim()
    .to_owned();
    let proxy = Arc::new(Proxy {
        upstream: served.url.clone(),
        http: reqwest::Client::new(),
        lie: Mutex::new(Lie::Honest),
    });
    let proxy_url = start_proxy(proxy.clone());
    Setup {
        dir,
        served,
        proxy,
        proxy_url,
        vkey,
    }
}
