//! The transparency log over HTTP: C2SP tlog-tiles under `/log/`, JSON helpers, and the
//! proof of an artifact's publication.
//!
//! Only what a published checkpoint covers is served: tiles of a batch still being written
//! answer 404 until their checkpoint exists.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use cairn_api::{AttestationAdded, EntryAnswer, EntryProof, ProofAnswer};
use cairn_tlog::tile::TilePath;
use serde::Deserialize;

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::DigestPath;

pub(crate) fn log_error(e: cairn_tlog::Error) -> ApiError {
    match e {
        cairn_tlog::Error::Proof(p) => ApiError::bad_request(p.to_string()),
        other => ApiError::from(cairn_registry::Error::Log(other)),
    }
}

/// `GET /log/checkpoint`: the latest signed checkpoint (mutable: short cache).
pub async fn checkpoint(State(state): State<AppState>) -> Response {
    let body = state.registry.log().checkpoint().to_string();
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

/// `GET /log/tile/<L>/<N>[.p/<W>]` and `/log/tile/entries/<N>[.p/<W>]` (immutable).
pub async fn tile(
    State(state): State<AppState>,
    Path(rest): Path<String>,
) -> Result<Response, ApiError> {
    let path = TilePath::parse(&format!("tile/{rest}"))
        .ok_or_else(|| ApiError::bad_request("not a C2SP tile path"))?;
    let log = state.registry.log().clone();
    let bytes = tokio::task::spawn_blocking(move || log.tile(&path))
        .await
        .map_err(|e| ApiError::from(cairn_registry::Error::Internal(e.to_string())))?
        .map_err(log_error)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such published tile"))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        bytes,
    )
        .into_response())
}

async fn read_entry(state: &AppState, index: u64) -> Result<Vec<u8>, ApiError> {
    let log = state.registry.log().clone();
    tokio::task::spawn_blocking(move || log.entry(index))
        .await
        .map_err(|e| ApiError::from(cairn_registry::Error::Internal(e.to_string())))?
        .map_err(log_error)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such log entry"))
}

/// `GET /log/entries/{index}`.
pub async fn entry(
    State(state): State<AppState>,
    Path(index): Path<u64>,
) -> Result<Json<EntryAnswer>, ApiError> {
    let bytes = read_entry(&state, index).await?;
    Ok(Json(entry_answer(index, &bytes)))
}

/// The answer for entry `index` of these bytes: parsed (base64 when not JSON), with its
/// leaf hash.
pub(crate) fn entry_answer(index: u64, bytes: &[u8]) -> EntryAnswer {
    let entry = serde_json::from_slice(bytes)
        .unwrap_or_else(|_| serde_json::Value::String(B64.encode(bytes)));
    EntryAnswer {
        index,
        entry,
        leaf_hash: B64.encode(cairn_tlog::merkle::leaf_hash(bytes)),
    }
}

/// Query of `/log/proof/inclusion`.
#[derive(Debug, Deserialize)]
pub struct InclusionQuery {
    pub(crate) index: u64,
    pub(crate) size: u64,
}

/// Query of `/log/proof/consistency`.
#[derive(Debug, Deserialize)]
pub struct ConsistencyQuery {
    pub(crate) from: u64,
    pub(crate) to: u64,
}

pub(crate) fn b64_all(hashes: Vec<cairn_tlog::Hash>) -> Vec<String> {
    hashes.iter().map(|h| B64.encode(h)).collect()
}

/// `GET /log/proof/inclusion?index=&size=`.
pub async fn inclusion(
    State(state): State<AppState>,
    Query(q): Query<InclusionQuery>,
) -> Result<Json<ProofAnswer>, ApiError> {
    let published = state.registry.log().size();
    if q.size > published {
        return Err(ApiError::bad_request(format!(
            "size={} is beyond the log's {published} published entries",
            q.size
        )));
    }
    if q.index >= q.size {
        return Err(ApiError::bad_request(format!(
            "index={} is not below size={}",
            q.index, q.size
        )));
    }
    let proof = state
        .registry
        .log()
        .inclusion_proof(q.index, q.size)
        .map_err(log_error)?;
    Ok(Json(ProofAnswer {
        proof: b64_all(proof),
    }))
}

/// `GET /log/proof/consistency?from=&to=`.
pub async fn consistency(
    State(state): State<AppState>,
    Query(q): Query<ConsistencyQuery>,
) -> Result<Json<ProofAnswer>, ApiError> {
    let published = state.registry.log().size();
    if q.to > published {
        return Err(ApiError::bad_request(format!(
            "to={} is beyond the log's {published} published entries",
            q.to
        )));
    }
    if q.from > q.to {
        return Err(ApiError::bad_request(format!(
            "from={} is larger than to={}",
            q.from, q.to
        )));
    }
    let proof = state
        .registry
        .log()
        .consistency_proof(q.from, q.to)
        .map_err(log_error)?;
    Ok(Json(ProofAnswer {
        proof: b64_all(proof),
    }))
}

/// `GET /files/{digest}/proof`: JSON, or C2SP tlog-proof text with `Accept: text/plain`.
pub async fn artifact_proof(
    State(state): State<AppState>,
    DigestPath(digest): DigestPath,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let meta = state
        .registry
        .metadata(&digest)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let index = meta
        .log_index
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "artifact predates the log"))?;
    entry_proof(&state, index, &headers).await
}

/// `GET /scans/{digest}/proof`: the scan's log entry with its inclusion proof, as for
/// artifacts (what `cairn scan diff --baseline` checks).
pub async fn scan_proof(
    State(state): State<AppState>,
    DigestPath(digest): DigestPath,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let scan = state
        .registry
        .scan(&digest)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "scan not found"))?;
    let index = scan
        .log_index
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "scan predates the log"))?;
    entry_proof(&state, index, &headers).await
}

/// An entry with its inclusion proof for the checkpoint it was made for.
pub(crate) struct ProofParts {
    /// The signed checkpoint, as served.
    pub checkpoint: String,
    /// The entry's index.
    pub index: u64,
    /// The inclusion proof for the checkpoint's size.
    pub hashes: Vec<cairn_tlog::Hash>,
    /// The entry's logged bytes.
    pub entry: Vec<u8>,
}

/// Entry `index` with its inclusion proof for the current checkpoint: what the JSON and
/// text proofs and the UI's proof pages all show, so they always agree.
pub(crate) async fn proof_parts(state: &AppState, index: u64) -> Result<ProofParts, ApiError> {
    let log = state.registry.log();
    // Take the checkpoint first: the proof is made for exactly its size.
    let checkpoint = log.checkpoint().to_string();
    let size = cairn_tlog::verify::open_checkpoint(checkpoint.as_bytes(), log.verifier())
        .map_err(log_error)?
        .size;
    let hashes = log.inclusion_proof(index, size).map_err(log_error)?;
    let entry = read_entry(state, index).await?;
    Ok(ProofParts {
        checkpoint,
        index,
        hashes,
        entry,
    })
}

/// Entry `index` with its inclusion proof for the current checkpoint.
pub(crate) async fn entry_proof(
    state: &AppState,
    index: u64,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let ProofParts {
        checkpoint,
        index,
        hashes,
        entry: bytes,
    } = proof_parts(state, index).await?;
    let wants_text = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/plain"));
    if wants_text {
        // The entry's bytes go in `extra`, so the file alone says what was logged.
        let text = cairn_tlog::TlogProof {
            extra: Some(bytes),
            index,
            proof: hashes,
            checkpoint,
        }
        .to_text();
        return Ok((
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            )],
            text,
        )
            .into_response());
    }
    let proof = b64_all(hashes);
    let entry = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    Ok(Json(EntryProof {
        index,
        entry,
        proof,
        checkpoint,
        log: state.log_routes.clone(),
    })
    .into_response())
}

/// `POST /log/entries`: a signed in-toto link or DSSE envelope; answered once a checkpoint
/// covers its commitment.
pub async fn submit(
    State(state): State<AppState>,
    _auth: crate::extract::Authorized,
    body: axum::body::Bytes,
) -> Result<Json<AttestationAdded>, ApiError> {
    let (checked, index, added) = state.registry.attest(body.to_vec()).await?;
    Ok(Json(AttestationAdded {
        outcome: if added {
            cairn_api::UploadOutcome::Added
        } else {
            cairn_api::UploadOutcome::AlreadyExists
        },
        index,
        format: checked.format.to_owned(),
        digest: checked.digest,
        subjects: checked.subjects,
        materials: checked.materials,
        signers: checked.signers,
        checkpoint: state.registry.log().checkpoint().to_string(),
    }))
}

/// `GET /attestations/{digest}/entry`: the entry that logged this document, with its
/// inclusion proof (JSON, or tlog-proof text with `Accept: text/plain`).
pub async fn attestation_entry(
    State(state): State<AppState>,
    DigestPath(digest): DigestPath,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let index = state
        .registry
        .attestation_entry(&digest)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "no attestation with this digest is logged",
            )
        })?;
    entry_proof(&state, index, &headers).await
}

/// `GET /attestations/{digest}`: the stored document.
pub async fn attestation(
    State(state): State<AppState>,
    DigestPath(digest): DigestPath,
) -> Result<Response, ApiError> {
    let doc = state
        .registry
        .attestation(&digest)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "attestation not found"))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        doc,
    )
        .into_response())
}
