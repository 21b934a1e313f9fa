//! `POST /policies`, `GET /policies`, `GET /policies/{version|latest}`: trust policies a
//! registry operator published, each one logged (publishing takes the server's token).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cairn_api::{PolicyList, PolicyPublished, UploadOutcome};

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::Authorized;

/// Publishes the signed policy file in the body (its text, as `cairn trust sign` wrote it).
pub async fn publish(
    State(state): State<AppState>,
    _auth: Authorized,
    body: String,
) -> Result<(StatusCode, Json<PolicyPublished>), ApiError> {
    let (policy, added) = state.registry.publish_policy(body).await?;
    let (status, outcome) = if added {
        (StatusCode::CREATED, UploadOutcome::Added)
    } else {
        (StatusCode::OK, UploadOutcome::AlreadyExists)
    };
    Ok((status, Json(PolicyPublished { outcome, policy })))
}

/// Every published policy, newest first.
pub async fn list(State(state): State<AppState>) -> Result<Json<PolicyList>, ApiError> {
    Ok(Json(PolicyList {
        policies: state.registry.policies().await?,
    }))
}

/// One published policy's file (`latest`, or a version number).
pub async fn show(
    State(state): State<AppState>,
    Path(version): Path<String>,
) -> Result<Response, ApiError> {
    let version = match version.as_str() {
        "latest" => None,
        v => Some(v.parse::<u64>().map_err(|_| {
            ApiError::bad_request(format!("{v:?}: expected a version number or latest"))
        })?),
    };
    let (_, text) = state
        .registry
        .published_policy(version)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such published policy"))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        text,
    )
        .into_response())
}
