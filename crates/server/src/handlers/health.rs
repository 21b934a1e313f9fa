//! `GET /health` (liveness, memflow-compatible) and `GET /ready` (every dependency).

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

/// `{"database":true,"store":true,"log":true,"index_current":true,…}`; 503 when any is false, so a load balancer
/// stops sending traffic to an instance that cannot serve it.
pub async fn ready(State(state): State<AppState>) -> Response {
    let readiness = state.registry.readiness().await;
    let status = if readiness.ready() {
        StatusCode::OK
    } else {
        tracing::warn!(?readiness, "not ready");
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(readiness)).into_response()
}
