//! `POST /hosts`, `GET /hosts`, `GET /hosts/{name}`, `PUT /hosts/{name}/baseline`: hosts
//! that submit scans, and the scan each one's arriving scans are compared with. Enrolling
//! and setting baselines take the server's token; a host's own token cannot.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use cairn_api::{BaselineSet, HostAdded, HostList, HostSummary, NewBaseline, NewHost};
use cairn_registry::Digest;

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::Authorized;

/// Enrols a host; its token is in this answer only.
pub async fn add(
    State(state): State<AppState>,
    _auth: Authorized,
    Json(new): Json<NewHost>,
) -> Result<(StatusCode, Json<HostAdded>), ApiError> {
    let (host, token) = state.registry.add_host(&new.name, &new.key).await?;
    Ok((StatusCode::CREATED, Json(HostAdded { host, token })))
}

/// Every enrolled host (names, keys and baselines are public, as the log is).
pub async fn list(State(state): State<AppState>) -> Result<Json<HostList>, ApiError> {
    Ok(Json(HostList {
        hosts: state.registry.hosts().await?,
    }))
}

/// One enrolled host.
pub async fn show(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<HostSummary>, ApiError> {
    state
        .registry
        .host(&name)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no host {name} is enrolled")))
}

/// Sets a host's baseline to one of its stored scans.
pub async fn set_baseline(
    State(state): State<AppState>,
    _auth: Authorized,
    Path(name): Path<String>,
    Json(new): Json<NewBaseline>,
) -> Result<Json<BaselineSet>, ApiError> {
    let scan = Digest::parse(&new.scan).ok_or_else(|| {
        ApiError::bad_request("invalid scan digest: expected 64 lowercase hex characters")
    })?;
    Ok(Json(state.registry.set_baseline(&name, &scan).await?))
}
