//! The lying proxy: it forwards to a real `cairn serve` and rewrites its answers as the
//! current [`Lie`] says.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use serde_json::{Value, json};

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
    /// Answers every request for package `pkg` 2.0.0 with version 1.0.0 (a signed old
    /// package served as the newer one), its listing relabelled 2.0.0.
    PackageVersion,
    /// Answers a log search for `asked` with the (real, proven) hits of `served`, labelled
    /// as the answer for `asked`.
    SearchOther { asked: String, served: String },
    /// Names entry `by` as the deletion of every hit of a log search.
    SearchDeletion { by: u64 },
    /// Says every log search answer's next page starts after entry 0.
    SearchNextBack,
    /// Forwards everything to another registry (one whose log forked from the real one's,
    /// signed with the same key).
    Elsewhere(String),
}

const NEW_PACKAGE: &str = "/packages/pkg/2.0.0";

pub(super) struct Proxy {
    pub(super) upstream: String,
    pub(super) http: reqwest::Client,
    pub(super) lie: Mutex<Lie>,
}

/// Starts the proxy on loopback; its URL.
pub(super) fn start_proxy(proxy: Arc<Proxy>) -> String {
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
    if let Lie::SearchOther { asked, served } = &lie {
        query = query.replace(asked.as_str(), served);
    }
    if let Lie::ServeAs = &lie {
        if path == "/plugins/synthc" {
            query = "limit=1".into();
        }
    }
    let upstream_path = match &lie {
        Lie::ServeAs if path == "/plugins/synthc" => "/plugins/synthmulti".to_owned(),
        Lie::PackageVersion if path.starts_with(NEW_PACKAGE) => {
            path.replacen("/2.0.0", "/1.0.0", 1)
        }
        _ => path.clone(),
    };
    let base = match &lie {
        Lie::Elsewhere(url) => url.clone(),
        _ => p.upstream.clone(),
    };
    let mut request = p
        .http
        .request(parts.method, format!("{base}{upstream_path}?{query}"))
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
        Lie::PackageVersion if path == NEW_PACKAGE => {
            json_edit(&bytes, |v| v["version"] = json!("2.0.0"))
        }
        Lie::TamperBytes if path.starts_with("/files/") && path.matches('/').count() == 2 => {
            let mut bytes = bytes;
            bytes[100] ^= 1;
            bytes
        }
        Lie::ScanEntry if path.starts_with("/scans/") && path.ends_with("/proof") => {
            json_edit(&bytes, |v| v["entry"]["scan"]["host"] = json!("elsewhere"))
        }
        Lie::SearchOther { asked, .. } if path == "/log/search" => {
            json_edit(&bytes, |v| v["value"] = json!(asked))
        }
        Lie::SearchDeletion { by } if path == "/log/search" => json_edit(&bytes, |v| {
            for hit in v["hits"].as_array_mut().unwrap() {
                hit["deleted_by"] = json!(by);
            }
        }),
        Lie::SearchNextBack if path == "/log/search" => json_edit(&bytes, |v| v["next"] = json!(0)),
        Lie::MetadataTime if metadata => {
            json_edit(&bytes, |v| v["created_at"] = json!("2020-01-01T00:00:00"))
        }
        _ => bytes,
    }
}
