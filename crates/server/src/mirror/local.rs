//! A mirror that also publishes (`cairn serve --upstream … --allow-local`): local plugins
//! are served beside the mirrored ones, from a registry of the mirror's own with its own
//! log.
//!
//! `/log/…` stays the upstream's log (so clients pinning the upstream key see nothing
//! new); the mirror's own log is routed at [`LOCAL_LOG_ROUTES`], and every proof of a
//! local artifact says so (`"log": "/local/log"`), so clients pinning the mirror's key ask
//! there for consistency proofs. Downloads, metadata and proofs come from the local
//! registry when it holds the digest, from the mirror otherwise. Every route a mirror does
//! not answer itself (uploads, packages, scans, EFI, attestations, search, the web UI) is
//! the local registry's.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cairn_registry::Digest;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use super::{MirrorState, handlers as mirror, listing_merge};
use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::{Authorized, DigestPath};
use crate::handlers::{files, log};

/// Where the mirror's own log is routed.
pub const LOCAL_LOG_ROUTES: &str = "/local/log";

/// The mirror and the local registry, for the routes both answer.
#[derive(Clone, Debug)]
pub struct Both {
    /// The mirror of the upstream.
    pub mirror: MirrorState,
    /// The registry of the mirror's own plugins.
    pub local: AppState,
}

impl Both {
    /// Whether the local registry holds `digest` (then it answers for it).
    async fn local_has(&self, digest: &Digest) -> Result<bool, ApiError> {
        Ok(self.local.registry.size(digest).await?.is_some())
    }
}

/// Every route of a mirror that also publishes.
pub fn router(mirror_state: MirrorState, local: AppState) -> Router {
    let both = Both {
        mirror: mirror_state.clone(),
        local: local.clone(),
    };
    let merged = Router::new()
        .route("/plugins", get(listing_merge::list))
        .route("/plugins/{name}", get(listing_merge::find))
        .route("/files/{digest}", get(download).delete(delete))
        .route("/files/{digest}/metadata", get(metadata))
        .route("/files/{digest}/proof", get(proof))
        .with_state(both);
    let upstream_log = Router::new()
        .route("/health", get(mirror::health))
        .route("/ready", get(mirror::ready))
        .route("/log/checkpoint", get(mirror::checkpoint))
        .route("/log/tile/{*rest}", get(mirror::tile))
        .route("/log/entries/{index}", get(mirror::entry))
        .route("/log/proof/inclusion", get(mirror::inclusion))
        .route("/log/proof/consistency", get(mirror::consistency))
        .with_state(mirror_state);
    let own_log = Router::new()
        .route("/checkpoint", get(log::checkpoint))
        .route("/tile/{*rest}", get(log::tile))
        .route("/entries/{index}", get(log::entry))
        .route("/proof/inclusion", get(log::inclusion))
        .route("/proof/consistency", get(log::consistency))
        .with_state(local.clone());
    merged
        .merge(upstream_log)
        .nest(LOCAL_LOG_ROUTES, own_log)
        .layer(TraceLayer::new_for_http())
        .fallback_service(crate::router::router(local))
        .layer(CatchPanicLayer::new())
}

/// `GET|HEAD /files/{digest}`: the local bytes, or the mirror's (fetched on a miss).
async fn download(
    State(s): State<Both>,
    digest: DigestPath,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // One index lookup: its size is what the blob is served with.
    if let Some(size) = s.local.registry.size(&digest.0).await? {
        let kind = "application/octet-stream";
        return files::serve_blob(&s.local, &digest.0, size, kind, &method, &headers).await;
    }
    mirror::download(State(s.mirror), digest, method, headers).await
}

/// `GET /files/{digest}/metadata`, local first.
async fn metadata(State(s): State<Both>, digest: DigestPath) -> Result<Response, ApiError> {
    if s.local_has(&digest.0).await? {
        return Ok(files::metadata(State(s.local), digest)
            .await?
            .into_response());
    }
    Ok(mirror::metadata(State(s.mirror), digest)
        .await?
        .into_response())
}

/// `GET /files/{digest}/proof`: a local artifact's proof in the mirror's own log (the
/// answer names [`LOCAL_LOG_ROUTES`]), a mirrored one's in the upstream's.
async fn proof(
    State(s): State<Both>,
    digest: DigestPath,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if s.local_has(&digest.0).await? {
        return log::artifact_proof(State(s.local), digest, headers).await;
    }
    Ok(mirror::proof(State(s.mirror), digest)
        .await?
        .into_response())
}

/// `DELETE /files/{digest}`: local plugins only; a mirrored one is deleted upstream.
async fn delete(
    State(s): State<Both>,
    auth: Authorized,
    DigestPath(digest): DigestPath,
) -> Result<Response, ApiError> {
    let raw = digest.to_string();
    if !s.local_has(&digest).await? && s.mirror.mirror.holds(&raw) {
        return Ok((
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, HeaderValue::from_static("GET, HEAD"))],
            format!(
                "{raw} is mirrored from {}: delete it there",
                s.mirror.mirror.upstream()
            ),
        )
            .into_response());
    }
    files::delete(State(s.local), auth, DigestPath(digest)).await?;
    Ok(StatusCode::OK.into_response())
}

impl axum::extract::FromRequestParts<Both> for Authorized {
    type Rejection = ApiError;

    /// The local registry's write token: a mirror's own plugins are written with it.
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &Both,
    ) -> Result<Self, Self::Rejection> {
        crate::extract::check_bearer(&parts.headers, &state.local)
    }
}
