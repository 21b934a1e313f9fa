//! `GET|HEAD /files/{digest}`, `GET /files/{digest}/metadata`, `DELETE /files/{digest}`.
//!
//! Fixed against upstream: the digest is validated before any storage access (upstream let
//! `%2F` and `..` reach the filesystem), only indexed artifacts are served, deleted ones stay
//! deleted across restarts, an unknown digest is 404 (upstream: 500), and downloads carry
//! `ETag`, `Range` and `HEAD` support.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cairn_registry::{Digest, PluginMetadata};

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::{Authorized, DigestPath};
use crate::range::{self, RangeRequest};

/// Content-addressed bytes never change: let every cache keep them.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The artifact's bytes, whole or one range.
pub async fn download(
    State(state): State<AppState>,
    DigestPath(digest): DigestPath,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let size = state
        .registry
        .size(&digest)
        .await?
        .ok_or_else(ApiError::not_found)?;
    serve_blob(
        &state,
        &digest,
        size,
        "application/octet-stream",
        &method,
        &headers,
    )
    .await
}

/// Serves an indexed blob of `size` bytes with ETag, Range, If-None-Match and HEAD.
pub async fn serve_blob(
    state: &AppState,
    digest: &Digest,
    size: u64,
    content_type: &str,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let (status, out, range) =
        match plan_blob(&digest.to_string(), size, content_type, method, headers) {
            BlobPlan::Send(status, out, range) => (status, out, range),
            BlobPlan::Answer(answer) => return Ok(answer),
        };
    let blob = state.registry.read(digest, Some(range)).await?;
    Ok((status, out, Body::from_stream(blob.stream)).into_response())
}

/// What [`plan_blob`] decided.
pub(crate) enum BlobPlan {
    /// Send these bytes of the blob, with this status and these headers.
    Send(StatusCode, HeaderMap, std::ops::Range<u64>),
    /// Send this answer, and no bytes.
    Answer(Response),
}

/// How to answer a request for a content-addressed blob of `size` bytes: the status, the
/// headers and the range of bytes to send, or the whole answer when no bytes go out (304,
/// 416, HEAD, an empty range).
pub(crate) fn plan_blob(
    digest: &str,
    size: u64,
    content_type: &str,
    method: &Method,
    headers: &HeaderMap,
) -> BlobPlan {
    let etag = format!("\"{digest}\"");
    let mut out = HeaderMap::new();
    out.insert(header::ETAG, header_value(&etag));
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    if let Some(inm) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        if inm.split(',').any(|t| t.trim() == etag || t.trim() == "*") {
            return BlobPlan::Answer((StatusCode::NOT_MODIFIED, out).into_response());
        }
    }
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream")),
    );
    let requested = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    // A range is honoured only while the client's copy is this one (If-Range).
    let if_range_ok = headers
        .get(header::IF_RANGE)
        .is_none_or(|v| v.to_str().is_ok_and(|v| v.trim() == etag));
    let (status, range) = match range::parse(requested.filter(|_| if_range_ok), size) {
        RangeRequest::Full => (StatusCode::OK, 0..size),
        RangeRequest::Partial(r) => {
            let content_range = format!("bytes {}-{}/{size}", r.start, r.end - 1);
            out.insert(header::CONTENT_RANGE, header_value(&content_range));
            (StatusCode::PARTIAL_CONTENT, r)
        }
        RangeRequest::Unsatisfiable => {
            out.insert(
                header::CONTENT_RANGE,
                header_value(&format!("bytes */{size}")),
            );
            return BlobPlan::Answer((StatusCode::RANGE_NOT_SATISFIABLE, out).into_response());
        }
    };
    out.insert(
        header::CONTENT_LENGTH,
        header_value(&(range.end - range.start).to_string()),
    );
    if *method == Method::HEAD || range.is_empty() {
        return BlobPlan::Answer((status, out).into_response());
    }
    BlobPlan::Send(status, out, range)
}

/// The artifact's metadata and every descriptor.
pub async fn metadata(
    State(state): State<AppState>,
    DigestPath(digest): DigestPath,
) -> Result<Json<PluginMetadata>, ApiError> {
    state
        .registry
        .metadata(&digest)
        .await?
        .map(Json)
        .ok_or_else(ApiError::not_found)
}

/// Removes the artifact, every variant of it and its blob; 200 with an empty body.
pub async fn delete(
    State(state): State<AppState>,
    _auth: Authorized,
    DigestPath(digest): DigestPath,
) -> Result<(), ApiError> {
    state.registry.delete(&digest).await?;
    Ok(())
}

fn header_value(s: &str) -> HeaderValue {
    // Only ever called with ASCII built from digests and numbers.
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}
