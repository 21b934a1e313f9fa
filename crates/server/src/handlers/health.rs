//! `GET /health`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::AppState;

/// `"Ok"`, or 503 `{"Error":"database unhealthy"}` as upstream. One trivial query, no scan.
pub async fn health(State(state): State<AppState>) -> Response {
    match state.registry.ping().await {
        Ok(()) => Json("Ok").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"Error": "database unhealthy"})),
            )
                .into_response()
        }
    }
}
