//! The mirror's handlers: each asks the [`cairn_mirror::Mirror`] and answers in the
//! upstream's shapes, so memflow clients and `cairn pull` cannot tell it from the upstream.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use cairn_api::{EntryAnswer, EntryProof, PluginMetadata, ProofAnswer};
use cairn_tlog::tile::TilePath;
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};

use super::MirrorState;
use crate::error::ApiError;
use crate::extract::DigestPath;
use crate::handlers::files::BlobPlan;
use crate::handlers::log::{ConsistencyQuery, InclusionQuery, b64_all, entry_answer};

/// `"Ok"`: the mirror process answers (memflow's liveness check).
pub async fn health() -> Json<&'static str> {
    Json("Ok")
}

/// 200 once the mirror holds a verified checkpoint of the upstream, 503 before.
pub async fn ready(State(s): State<MirrorState>) -> Response {
    let size = s.mirror.log().size();
    let ready = s.mirror.log().checkpoint().is_some();
    let body = serde_json::json!({
        "upstream": s.mirror.upstream(),
        "log": ready,
        "log_size": size,
        "artifacts": s.mirror.held(),
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// OpenMetrics text of the mirror's counters.
pub async fn metrics(State(s): State<MirrorState>) -> Result<Response, ApiError> {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &s.prom)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        text,
    )
        .into_response())
}

/// Uploads and deletes: a mirror publishes nothing of its own.
pub async fn refuse_write(State(s): State<MirrorState>) -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(header::ALLOW, HeaderValue::from_static("GET, HEAD"))],
        format!(
            "this registry is a read-only mirror of {}: publish and delete there",
            s.mirror.upstream()
        ),
    )
        .into_response()
}

/// Every other route: a read-only mirror mirrors plugins and the upstream's log, nothing
/// else; the answer says where to go instead of a bare 404.
pub async fn not_mirrored(State(s): State<MirrorState>, uri: Uri) -> Response {
    let upstream = s.mirror.upstream();
    (
        StatusCode::NOT_FOUND,
        format!(
            "{} is not mirrored: this mirror of {upstream} serves its plugins (the memflow \
             API and their proofs) and its log; ask {upstream} directly",
            uri.path()
        ),
    )
        .into_response()
}

/// `GET /plugins` and `/plugins/{name}`: the upstream's listing, from the cache while it
/// is fresh; stale ones carry `Warning: 110` and their `Age`.
pub async fn listing(State(s): State<MirrorState>, uri: Uri) -> Result<Response, ApiError> {
    let key = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
    let listing = s.mirror.listing(&key).await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(age) = HeaderValue::from_str(&listing.age.as_secs().to_string()) {
        headers.insert(header::AGE, age);
    }
    if listing.stale {
        headers.insert(
            header::WARNING,
            HeaderValue::from_static(
                "110 cairn \"Response is Stale: the upstream is unreachable\"",
            ),
        );
    }
    Ok((headers, Body::from(listing.body.to_vec())).into_response())
}

/// `GET|HEAD /files/{digest}`: the verified bytes, fetched first on a miss.
pub async fn download(
    State(s): State<MirrorState>,
    DigestPath(digest): DigestPath,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let digest = digest.to_string();
    let record = s.mirror.artifact(&digest).await?;
    let size = record.metadata.size;
    let (status, out, range) = match crate::handlers::files::plan_blob(
        &digest,
        size,
        "application/octet-stream",
        &method,
        &headers,
    ) {
        BlobPlan::Send(status, out, range) => (status, out, range),
        BlobPlan::Answer(answer) => return Ok(answer),
    };
    let gone = |e: std::io::Error| {
        ApiError::from(cairn_mirror::Error::Io {
            what: "reading a held artifact".into(),
            source: e,
        })
    };
    let mut file = tokio::fs::File::open(s.mirror.blob(&digest))
        .await
        .map_err(gone)?;
    file.seek(std::io::SeekFrom::Start(range.start))
        .await
        .map_err(gone)?;
    let stream =
        tokio_util::io::ReaderStream::with_capacity(file.take(range.end - range.start), 256 << 10);
    Ok((status, out, Body::from_stream(stream)).into_response())
}

/// `GET /files/{digest}/metadata`: made from the bytes and the entry (equal to the
/// upstream's answer, which was checked against them).
pub async fn metadata(
    State(s): State<MirrorState>,
    DigestPath(digest): DigestPath,
) -> Result<Json<PluginMetadata>, ApiError> {
    let record = s.mirror.artifact(&digest.to_string()).await?;
    Ok(Json(record.metadata.clone()))
}

/// `GET /files/{digest}/proof`: the entry's proof against the latest upstream checkpoint
/// the mirror verified.
pub async fn proof(
    State(s): State<MirrorState>,
    DigestPath(digest): DigestPath,
) -> Result<Json<EntryProof>, ApiError> {
    Ok(Json(s.mirror.proof(&digest.to_string()).await?))
}

/// `GET /log/checkpoint`: the upstream's latest checkpoint the mirror verified.
pub async fn checkpoint(State(s): State<MirrorState>) -> Result<Response, ApiError> {
    let text = s.mirror.checkpoint().await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        text.to_string(),
    )
        .into_response())
}

/// `GET /log/tile/…`: hash tiles from the verified tree, entry bundles checked.
pub async fn tile(
    State(s): State<MirrorState>,
    Path(rest): Path<String>,
) -> Result<Response, ApiError> {
    let path = TilePath::parse(&format!("tile/{rest}"))
        .ok_or_else(|| ApiError::bad_request("not a C2SP tile path"))?;
    let bytes = s
        .mirror
        .tile(&path)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such published tile"))?;
    let cache = if path.partial.is_some() {
        "no-cache"
    } else {
        "public, max-age=31536000, immutable"
    };
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /log/entries/{index}`: one verified entry with its leaf hash.
pub async fn entry(
    State(s): State<MirrorState>,
    Path(index): Path<u64>,
) -> Result<Json<EntryAnswer>, ApiError> {
    let bytes =
        s.mirror.entry(index).await?.ok_or_else(|| {
            ApiError::new(StatusCode::NOT_FOUND, "no such entry in the verified log")
        })?;
    Ok(Json(entry_answer(index, &bytes)))
}

fn answer(hashes: Vec<cairn_tlog::Hash>) -> Json<ProofAnswer> {
    Json(ProofAnswer {
        proof: b64_all(hashes),
    })
}

/// `GET /log/proof/inclusion?index=&size=`, from the verified tree.
pub async fn inclusion(
    State(s): State<MirrorState>,
    Query(q): Query<InclusionQuery>,
) -> Result<Json<ProofAnswer>, ApiError> {
    Ok(answer(s.mirror.log().inclusion_proof(q.index, q.size)?))
}

/// `GET /log/proof/consistency?from=&to=`, from the verified tree.
pub async fn consistency(
    State(s): State<MirrorState>,
    Query(q): Query<ConsistencyQuery>,
) -> Result<Json<ProofAnswer>, ApiError> {
    Ok(answer(s.mirror.log().consistency_proof(q.from, q.to)?))
}
