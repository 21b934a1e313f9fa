//! `POST /scans`, `GET /scans?host=`, `GET /scans/{digest}` and `/scans/{digest}/report`:
//! signed filesystem scans and the registry's analysis of each.

use axum::Json;
use axum::extract::{Multipart, Query, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use cairn_api::{ReportAnswer, ScanAdded, ScanList};
use cairn_registry::MAX_SCANS_LISTED;
use serde::Deserialize;

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::{DigestPath, ScanSubmitter};
use crate::handlers::files::serve_blob;
use crate::handlers::upload::read_form;

/// Stores a signed scan whose trailer verifies, submitted with the server's token or the
/// scanned host's own.
pub async fn upload(
    State(state): State<AppState>,
    ScanSubmitter(submitter): ScanSubmitter,
    headers: HeaderMap,
    mut form: Multipart,
) -> Result<Json<ScanAdded>, ApiError> {
    let (file, signature) = read_form(&state, &headers, &mut form).await?;
    let (outcome, scan) = state
        .registry
        .publish_scan(file, &signature, submitter)
        .await?;
    Ok(Json(ScanAdded { outcome, scan }))
}

/// The registry's report of a stored scan (`{"scan":…,"report":…}`).
pub async fn report(
    State(state): State<AppState>,
    DigestPath(digest): DigestPath,
) -> Result<Json<ReportAnswer>, ApiError> {
    let not_found = || ApiError::new(axum::http::StatusCode::NOT_FOUND, "scan not found");
    let scan = state.registry.scan(&digest).await?.ok_or_else(not_found)?;
    let report = state
        .registry
        .scan_report(&digest)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(ReportAnswer { scan, report }))
}

/// Query of `GET /scans`.
#[derive(Debug, Deserialize)]
pub struct ListParams {
    host: Option<String>,
    limit: Option<u32>,
}

/// Lists stored scans, of one host with `?host=`.
pub async fn list(
    State(state): State<AppState>,
    Query(p): Query<ListParams>,
) -> Result<Json<ScanList>, ApiError> {
    let limit = p.limit.unwrap_or(100).min(MAX_SCANS_LISTED);
    Ok(Json(ScanList {
        scans: state.registry.scans(p.host.as_deref(), limit).await?,
    }))
}

/// The scan file itself (what `cairn scan diff --baseline` fetches).
pub async fn download(
    State(state): State<AppState>,
    DigestPath(digest): DigestPath,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let scan = state
        .registry
        .scan(&digest)
        .await?
        .ok_or_else(|| ApiError::new(axum::http::StatusCode::NOT_FOUND, "scan not found"))?;
    serve_blob(
        &state,
        &digest,
        scan.size,
        "application/x-ndjson",
        &method,
        &headers,
    )
    .await
}
