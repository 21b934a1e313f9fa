//! The file page: an artifact's metadata and descriptors with the proof of its
//! publication (checkpoint, inclusion proof and entry), checked by the server before it is
//! shown, and the same proof as a tlog-proof download.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cairn_api::{Descriptor, LogEntry, SearchKey};
use cairn_registry::{Digest, PluginMetadata};

use super::commands::{cairn_pull, memflowup_pull, registry_url};
use super::page::{UiError, cached, render};
use super::text::{b64, time};
use crate::app::AppState;
use crate::handlers::log::{ProofParts, proof_parts};

/// A proof as a page shows it, with the server's own check of it.
pub struct ProofView {
    /// The signed checkpoint text.
    pub checkpoint: String,
    /// Its origin line.
    pub origin: String,
    /// Its tree size.
    pub size: u64,
    /// Its root hash, base64.
    pub root: String,
    /// The entry's index.
    pub index: u64,
    /// The entry's leaf hash, base64.
    pub leaf_hash: String,
    /// The proof's hashes, base64, leaf to root.
    pub hashes: Vec<String>,
    /// The entry, pretty-printed JSON.
    pub entry: String,
    /// `None` when the checkpoint's signature, the proof and the entry all check out;
    /// otherwise what failed.
    pub problem: Option<String>,
}

impl ProofView {
    /// Checks `parts` as a client would: the checkpoint's signature under the log's key,
    /// the entry's inclusion under its root, and (with `names`) that the entry is about
    /// what the page shows.
    pub fn check(
        state: &AppState,
        parts: &ProofParts,
        names: impl Fn(&LogEntry) -> bool,
    ) -> ProofView {
        let leaf = cairn_tlog::merkle::leaf_hash(&parts.entry);
        let opened = cairn_tlog::verify::open_checkpoint(
            parts.checkpoint.as_bytes(),
            state.registry.log().verifier(),
        );
        let (origin, size, root, mut problem) = match &opened {
            Ok(c) => (c.origin.clone(), c.size, b64(&c.root), None),
            Err(e) => (
                String::new(),
                0,
                String::new(),
                Some(format!("checkpoint: {e}")),
            ),
        };
        if let Ok(c) = &opened {
            let included = cairn_tlog::merkle::verify_inclusion(
                parts.index,
                c.size,
                &leaf,
                &parts.hashes,
                &c.root,
            );
            if let Err(e) = included {
                problem = Some(format!("inclusion proof: {e}"));
            }
        }
        let parsed = serde_json::from_slice::<LogEntry>(&parts.entry);
        match &parsed {
            Ok(entry) if names(entry) => {}
            Ok(_) => problem = problem.or(Some("the entry is about something else".into())),
            Err(e) => problem = problem.or(Some(format!("entry: {e}"))),
        }
        let entry = serde_json::from_slice::<serde_json::Value>(&parts.entry)
            .and_then(|v| serde_json::to_string_pretty(&v))
            .unwrap_or_else(|_| String::from_utf8_lossy(&parts.entry).into_owned());
        ProofView {
            checkpoint: parts.checkpoint.clone(),
            origin,
            size,
            root,
            index: parts.index,
            leaf_hash: b64(&leaf),
            hashes: parts.hashes.iter().map(|h| b64(h)).collect(),
            entry,
            problem,
        }
    }
}

/// An attestation about the file.
pub struct AttestationRef {
    /// Its log index.
    pub index: u64,
    /// `in-toto-link` or `dsse`.
    pub format: String,
    /// SHA-256 of the document.
    pub digest: String,
    /// Key ids that signed it.
    pub signers: Vec<String>,
}

#[derive(Template)]
#[template(path = "file.html")]
struct FilePage {
    title: String,
    meta: PluginMetadata,
    created: String,
    descriptors: Vec<Descriptor>,
    memflowup: String,
    cairn: String,
    proof: Option<ProofView>,
    proof_href: String,
    attestations: Vec<AttestationRef>,
}

/// `GET /ui/files/{digest}`: 404 for a digest never published, 410 for one whose deletion
/// is logged (and nothing of what it was).
pub async fn show(
    State(state): State<AppState>,
    Path(digest): Path<String>,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    let digest = digest_of(&digest)?;
    let registry = registry_url(&headers);
    let key = format!("file\0{registry}\0{}", digest.to_hex());
    cached(&state, key, async {
        let Some(meta) = state.registry.metadata(&digest).await? else {
            return Err(absent(&state, &digest).await);
        };
        let hex = digest.to_hex();
        let proof = match meta.log_index {
            Some(index) => {
                let parts = proof_parts(&state, index).await?;
                Some(ProofView::check(
                    &state,
                    &parts,
                    |e| matches!(e, LogEntry::Artifact { digest, .. } if *digest == hex),
                ))
            }
            None => None,
        };
        let name = meta
            .descriptors
            .first()
            .map(|d| d.name.clone())
            .unwrap_or_default();
        render(&FilePage {
            title: format!("{name} {}", &hex[..12]),
            created: time(&meta.created_at),
            descriptors: meta.descriptors.clone(),
            memflowup: memflowup_pull(&registry, &name, &hex),
            cairn: cairn_pull(&registry, &name, &hex),
            proof,
            proof_href: format!("/ui/files/{hex}/tlog-proof"),
            attestations: attestations(&state, &hex).await?,
            meta,
        })
    })
    .await
}

fn digest_of(raw: &str) -> Result<Digest, UiError> {
    Digest::parse(raw)
        .ok_or_else(|| UiError::bad_request("A file digest is 64 lowercase hex characters."))
}

/// 410 with the deleting entry when the log records a deletion of `digest`, else 404.
async fn absent(state: &AppState, digest: &Digest) -> UiError {
    let page = state
        .registry
        .search(SearchKey::Digest, &digest.to_hex(), None, 100)
        .await;
    let deletion = page.ok().and_then(|p| {
        p.hits.into_iter().rev().find_map(|hit| {
            match serde_json::from_slice::<LogEntry>(&hit.bytes) {
                Ok(LogEntry::Delete { .. }) => Some(hit.index),
                _ => None,
            }
        })
    });
    match deletion {
        Some(index) => UiError::new(
            StatusCode::GONE,
            format!("This file was deleted by log entry {index}."),
        ),
        None => UiError::not_found("No file with this digest is published here."),
    }
}

/// The attestations whose subjects include `digest`, the first page of them.
async fn attestations(state: &AppState, digest: &str) -> Result<Vec<AttestationRef>, UiError> {
    let page = state
        .registry
        .search(SearchKey::Subject, digest, None, 50)
        .await?;
    Ok(page
        .hits
        .into_iter()
        .filter_map(|hit| match serde_json::from_slice::<LogEntry>(&hit.bytes) {
            Ok(LogEntry::Attestation {
                format,
                digest,
                signers,
                ..
            }) => Some(AttestationRef {
                index: hit.index,
                format,
                digest,
                signers,
            }),
            _ => None,
        })
        .collect())
}

/// `GET /ui/files/{digest}/tlog-proof`: the proof the file page shows, as a C2SP
/// tlog-proof file with the entry in its extra data, to check offline.
pub async fn tlog_proof(
    State(state): State<AppState>,
    Path(digest): Path<String>,
) -> Result<Response, UiError> {
    let digest = digest_of(&digest)?;
    let Some(meta) = state.registry.metadata(&digest).await? else {
        return Err(absent(&state, &digest).await);
    };
    let index = meta
        .log_index
        .ok_or_else(|| UiError::not_found("This file predates the log."))?;
    proof_download(&state, index, &digest.to_hex()).await
}

/// The proof of entry `index` against the current checkpoint as a C2SP tlog-proof file,
/// with the entry in its extra data, to check offline; saved as `<name>.tlog-proof`.
pub async fn proof_download(state: &AppState, index: u64, name: &str) -> Result<Response, UiError> {
    let parts = proof_parts(state, index).await?;
    let text = cairn_tlog::TlogProof {
        extra: Some(parts.entry),
        index,
        proof: parts.hashes,
        checkpoint: parts.checkpoint,
    }
    .to_text();
    let disposition = format!("attachment; filename=\"{name}.tlog-proof\"");
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or(HeaderValue::from_static("attachment")),
            ),
        ],
        text,
    )
        .into_response())
}
