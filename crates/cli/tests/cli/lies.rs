//! A registry that lies: a proxy (written here) in front of a real `cairn serve` rewrites its
//! answers, and `cairn pull` must refuse every lie, naming it, with nothing written to
//! `--out`; the same pulls through the honest proxy succeed.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use base64::Engine as _;
use cairn_tlog::merkle::{self, MemoryTree};
use serde_json::{Value, json};

use crate::pull::{client, s, stdout};
use crate::util::{Served, cairn, fixture, ok, plugin, sha256_hex};

pub(crate) const TOKEN: &str = "lies-test-token";
pub(crate) const ORIGIN: &str = "lies.test/log";

/// What the proxy does to the registry's answers.
#[derive(Clone, Debug, Default)]
pub(crate) enum Lie {
    /// Passes everything through.
    #[default]
    Honest,
    /// Calls synthc 1.2.3 version 1.4.0 in listings and metadata (and answers a query for
    /// 1.4.0 with it).
    Relabel,
    /// Answers `/plugins/synthc` with synthmulti's variant, renamed `synthc`.
    ServeAs,
    /// Renames the `synthos` descriptor in metadata answers.
    RenameInMetadata,
    /// Replaces the signature in listings and metadata.
    SwapSignature(String),
    /// Answers every `/files/*/proof` with this body.
    Proof(Vec<u8>),
    /// Answers proofs and consistency proofs from a forked tree.
    Fork {
        proof: Vec<u8>,
        consistency: Vec<u8>,
    },
    /// Changes `created_at` in metadata answers.
    MetadataTime,
    /// Edits the entry in `/scans/*/proof` answers (another host).
    ScanEntry,
    /// Serves other bytes (one flipped) under a digest, whole.
    TamperBytes,
}

struct Proxy {
    upstream: String,
    http: reqwest::Client,
    lie: Mutex<Lie>,
}

/// Starts the proxy on loopback; its URL.
fn start_proxy(proxy: Arc<Proxy>) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let app = axum::Router::new().fallback(forward).with_state(proxy);
            axum::serve(listener, app).await.unwrap();
        });
    });
    format!("http://{}", rx.recv().unwrap())
}

async fn forward(State(p): State<Arc<Proxy>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let lie = p.lie.lock().unwrap().clone();
    let path = parts.uri.path().to_owned();
    if let Lie::Fork { consistency, .. } = &lie {
        // The forked tree is larger than the real one: answer without asking upstream.
        if path == "/log/proof/consistency" {
            return Response::new(Body::from(consistency.clone()));
        }
    }
    let mut query = parts.uri.query().unwrap_or_default().to_owned();
    if matches!(lie, Lie::Relabel) {
        query = query.replace("version=1.4.0", "version=1.2.3");
    }
    if let Lie::ServeAs = &lie {
        if path == "/plugins/synthc" {
            query = "limit=1".into();
        }
    }
    let upstream_path = match &lie {
        Lie::ServeAs if path == "/plugins/synthc" => "/plugins/synthmulti".to_owned(),
        _ => path.clone(),
    };
    let mut request = p
        .http
        .request(
            parts.method,
            format!("{}{upstream_path}?{query}", p.upstream),
        )
        .body(body);
    for name in [header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT] {
        if let Some(v) = parts.headers.get(&name) {
            request = request.header(name, v);
        }
    }
    let answer = request.send().await.unwrap();
    let status = answer.status();
    let content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
    let mut bytes = answer.bytes().await.unwrap().to_vec();
    if status.is_success() {
        bytes = rewrite(&lie, &path, bytes);
    }
    let mut out = Response::builder().status(status);
    if let Some(ct) = content_type {
        out = out.header(header::CONTENT_TYPE, ct);
    }
    out.header(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()))
        .body(Body::from(bytes))
        .unwrap()
}

fn json_edit(bytes: &[u8], edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(bytes).unwrap();
    edit(&mut v);
    serde_json::to_vec(&v).unwrap()
}

fn rewrite(lie: &Lie, path: &str, bytes: Vec<u8>) -> Vec<u8> {
    let listing = path.starts_with("/plugins/");
    let metadata = path.ends_with("/metadata");
    match lie {
        Lie::Honest => bytes,
        Lie::Relabel if listing => json_edit(&bytes, |v| {
            for p in v["plugins"].as_array_mut().unwrap() {
                p["descriptor"]["version"] = json!("1.4.0");
            }
        }),
        Lie::Relabel if metadata => json_edit(&bytes, |v| {
            for d in v["descriptors"].as_array_mut().unwrap() {
                d["version"] = json!("1.4.0");
            }
        }),
        Lie::ServeAs if path == "/plugins/synthc" => json_edit(&bytes, |v| {
            for p in v["plugins"].as_array_mut().unwrap() {
                p["descriptor"]["name"] = json!("synthc");
            }
        }),
        Lie::RenameInMetadata if metadata => json_edit(&bytes, |v| {
            for d in v["descriptors"].as_array_mut().unwrap() {
                if d["name"] == "synthos" {
                    d["name"] = json!("synthmulti-helper");
                }
            }
        }),
        Lie::SwapSignature(sig) if listing => json_edit(&bytes, |v| {
            for p in v["plugins"].as_array_mut().unwrap() {
                p["signature"] = json!(sig);
            }
        }),
        Lie::SwapSignature(sig) if metadata => json_edit(&bytes, |v| v["signature"] = json!(sig)),
        Lie::Proof(body) if path.ends_with("/proof") => body.clone(),
        Lie::Fork { proof, .. } if path.ends_with("/proof") => proof.clone(),
        Lie::TamperBytes if path.starts_with("/files/") && path.matches('/').count() == 2 => {
            let mut bytes = bytes;
            bytes[100] ^= 1;
            bytes
        }
        Lie::ScanEntry if path.starts_with("/scans/") && path.ends_with("/proof") => {
            json_edit(&bytes, |v| v["entry"]["scan"]["host"] = json!("elsewhere"))
        }
        Lie::MetadataTime if metadata => {
            json_edit(&bytes, |v| v["created_at"] = json!("2020-01-01T00:00:00"))
        }
        _ => bytes,
    }
}

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
            .args(["--log-key", &self.vkey]));
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
        let mut files: Vec<String> = std::fs::read_dir(&out_dir)
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        (result, files)
    }

    fn pulled(&self, spec: &str, policy: &Path, out: &str) -> Vec<String> {
        let (result, files) = self.pull(spec, policy, out);
        assert!(
            result.status.success(),
            "{spec}: {}",
            String::from_utf8_lossy(&result.stderr)
        );
        files
    }

    /// The pull fails, says `why`, and writes nothing.
    fn refused(&self, spec: &str, policy: &Path, out: &str, why: &[&str]) -> String {
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

    fn push(&self, name: &str, bytes: &[u8]) -> String {
        let file = self.path(name);
        std::fs::write(&file, bytes).unwrap();
        let out = ok(client(self.dir.path())
            .args(["push", s(&file), "--key", s(&self.path("alice.pem"))])
            .args(["--registry", &self.served.url, "--token", TOKEN]));
        assert!(stdout(&out).contains("Added"), "{}", stdout(&out));
        sha256_hex(bytes)
    }

    /// GET from the real server, bypassing the proxy.
    fn get(&self, path: &str) -> Vec<u8> {
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

/// A checkpoint over `tree`, signed with the registry's own log key (as a server whose log
/// forked would sign it), and the proof answer for `index` in it.
fn forged_proof(setup: &Setup, tree: &MemoryTree, index: u64, entry: &Value) -> Vec<u8> {
    let signer = cairn_tlog::keyfile::load(&setup.path("data/keys/log.pem"), ORIGIN).unwrap();
    let checkpoint = cairn_tlog::Checkpoint {
        origin: ORIGIN.into(),
        size: tree.size(),
        root: tree.root(),
        extensions: vec![],
    };
    let note = signer.sign(&checkpoint.to_text()).unwrap();
    let b64 = |h: &cairn_tlog::Hash| base64::engine::general_purpose::STANDARD.encode(h);
    let proof: Vec<String> = merkle::inclusion_proof(tree, index, tree.size())
        .unwrap()
        .iter()
        .map(b64)
        .collect();
    serde_json::to_vec(&json!({"index": index, "entry": entry, "proof": proof, "checkpoint": note}))
        .unwrap()
}

#[test]
fn every_lie_of_a_registry_is_refused_and_named() {
    let w = setup();
    let synthc = w.push("libsynthc.so", &plugin(30_000, 7));
    let multi = w.push("libmulti.so", &fixture("libmemflow_synthmulti.x86_64.so"));
    let synth_all = w.policy("all.toml", &["synth*"], &[]);
    let only_synthc = w.policy("only-synthc.toml", &["synthc"], &[]);
    let no_synthos = w.policy("no-synthos.toml", &["synthc", "synthmulti"], &[]);
    let deny_12 = w.policy(
        "deny12.toml",
        &["synth*"],
        &["--package", "synth*", "--versions", ">=1.2.0, <1.3.0"],
    );

    // Through the honest proxy: the pulls succeed, and the .meta is the verified metadata.
    let files = w.pulled("synthc", &only_synthc, "honest-synthc");
    assert_eq!(files, [format!("{synthc}.meta"), format!("{synthc}.so")]);
    let meta: Value = serde_json::from_slice(
        &std::fs::read(w.path("honest-synthc").join(format!("{synthc}.meta"))).unwrap(),
    )
    .unwrap();
    let served: Value =
        serde_json::from_slice(&w.get(&format!("/files/{synthc}/metadata"))).unwrap();
    assert_eq!(meta, served, "the .meta is what the honest registry says");
    w.pulled("synthmulti", &synth_all, "honest-multi");
    // A binary with two plugins is allowed only if both are.
    w.refused(
        "synthmulti",
        &no_synthos,
        "honest-no-synthos",
        &[
            "refused by the trust policy: synthos 0.9.0",
            "outside its package globs",
        ],
    );
    // An honest registry has no synthc 1.4.0, and the policy denies 1.2.3.
    w.refused(
        "synthc:1.4.0",
        &deny_12,
        "honest-140",
        &["no plugin synthc matches"],
    );
    w.refused(
        "synthc:1.2.3",
        &deny_12,
        "honest-123",
        &["is denied by the policy"],
    );

    // 1. A relabelled version: 1.2.3 (denied) served as 1.4.0.
    w.lie(Lie::Relabel);
    w.refused(
        "synthc:1.4.0",
        &deny_12,
        "relabel",
        &["the registry says synthc 1.4.0; the binary is synthc 1.2.3"],
    );

    // 2. Another plugin (alice's synthmulti) served under the asked name.
    w.lie(Lie::ServeAs);
    w.refused(
        "synthc",
        &only_synthc,
        "serve-as",
        &["the registry says synthc 0.9.0; the binary is 2 plugins: synthos 0.9.0, synthmulti 0.9.0"],
    );

    // 3. A relabelled descriptor in a two-plugin binary: synthos hidden in the metadata.
    w.lie(Lie::RenameInMetadata);
    w.refused(
        "synthmulti",
        &no_synthos,
        "rename",
        &[
            "the registry's metadata says descriptors is",
            "synthmulti-helper",
            "synthos 0.9.0",
        ],
    );

    // 4. A swapped signature: alice's signature of another binary.
    let multi_sig: Value =
        serde_json::from_slice(&w.get(&format!("/files/{multi}/metadata"))).unwrap();
    let multi_sig = multi_sig["signature"].as_str().unwrap().to_owned();
    w.lie(Lie::SwapSignature(multi_sig.clone()));
    w.refused(
        "synthc",
        &only_synthc,
        "swap",
        &[
            "log check failed: log entry 0 records signature",
            &multi_sig,
            "(a swapped signature)",
        ],
    );

    // 5. A log entry for another digest: the (valid) proof of synthmulti.
    w.lie(Lie::Proof(w.get(&format!("/files/{multi}/proof"))));
    w.refused(
        "synthc",
        &only_synthc,
        "other-entry",
        &[&format!(
            "log entry 1 records artifact {multi}, not the binary served ({synthc})"
        )],
    );

    // 6. A stale checkpoint: the proof of synthc at 2 entries, after the client saw 3.
    let old_proof = w.get(&format!("/files/{synthc}/proof"));
    w.lie(Lie::Honest);
    w.push("libsynthc2.so", &plugin(31_000, 8));
    w.pulled("synthc", &only_synthc, "honest-after-push");
    w.lie(Lie::Proof(old_proof));
    w.refused(
        "synthc",
        &only_synthc,
        "stale",
        &["stale checkpoint: the registry's checkpoint has 2 entries, but this client already saw 3"],
    );

    // 7. Forked checkpoints, signed by the log's own key: the client saw 3 entries.
    let entries: Vec<Value> = (0..3)
        .map(|i| {
            let e: Value = serde_json::from_slice(&w.get(&format!("/log/entries/{i}"))).unwrap();
            e["entry"].clone()
        })
        .collect();
    let fake = |n: u64| json!({"kind": "delete", "digest": format!("{n:064x}"), "deleted_ns": n});
    let tree_of = |entries: &[Value]| {
        let mut tree = MemoryTree::default();
        for e in entries {
            tree.push(merkle::leaf_hash(&cairn_tlog::entry::canonical(e)));
        }
        tree
    };
    // Same size, another history.
    let forked = [entries[0].clone(), entries[1].clone(), fake(1)];
    w.lie(Lie::Fork {
        proof: forged_proof(&w, &tree_of(&forked), 0, &entries[0]),
        consistency: Vec::new(),
    });
    w.refused(
        "synthc",
        &only_synthc,
        "fork-same-size",
        &["the log forked: two checkpoints of 3 entries with different roots"],
    );
    // A larger tree that does not extend what the client saw, with a consistency proof
    // computed in the forked tree.
    let forked = [entries[0].clone(), entries[1].clone(), fake(1), fake(2)];
    let tree = tree_of(&forked);
    let b64 = |h: &cairn_tlog::Hash| base64::engine::general_purpose::STANDARD.encode(h);
    let consistency: Vec<String> = merkle::consistency_proof(&tree, 3, 4)
        .unwrap()
        .iter()
        .map(b64)
        .collect();
    w.lie(Lie::Fork {
        proof: forged_proof(&w, &tree, 0, &entries[0]),
        consistency: serde_json::to_vec(&json!({ "proof": consistency })).unwrap(),
    });
    w.refused(
        "synthc",
        &only_synthc,
        "fork-larger",
        &["the log forked: the checkpoint of 4 entries does not extend the one of 3 entries this client saw"],
    );

    // Other bytes served whole under the digest.
    w.lie(Lie::TamperBytes);
    w.refused(
        "synthc",
        &only_synthc,
        "tampered",
        &["digest mismatch: the registry served bytes whose SHA-256 is"],
    );

    // 8. A metadata answer that disagrees with the bytes and the log.
    w.lie(Lie::MetadataTime);
    w.refused(
        "synthc",
        &only_synthc,
        "meta",
        &["the registry's metadata says created_at is \"2020-01-01T00:00:00\""],
    );

    // And the honest registry still serves every pull.
    w.lie(Lie::Honest);
    w.pulled("synthc", &only_synthc, "honest-again");
    w.pulled("synthmulti", &synth_all, "honest-multi-again");
}
