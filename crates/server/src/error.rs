//! Errors as HTTP answers: plain-text bodies, as memflow-registry sends them.
//!
//! Client errors say what was wrong; server errors are logged in full and answered with a
//! generic message, so internals (paths, SQL) never reach the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cairn_registry::Error;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    /// An answer with this status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404 "plugin not found", memflow-registry's wording.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "plugin not found")
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// What the client is told (never internals: see [`From<Error>`]).
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The one place registry errors become status codes.
fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::NotFound | Error::UnknownHost(_) | Error::UnknownPackage { .. } => {
            StatusCode::NOT_FOUND
        }
        Error::HostExists(_) | Error::PackageExists { .. } => StatusCode::CONFLICT,
        // Authenticated, but not allowed this: another host's scan, or not the host's key.
        Error::WrongHost { .. } | Error::HostKey { .. } => StatusCode::FORBIDDEN,
        Error::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        Error::NotYetLogged(_) | Error::IndexBehind { .. } | Error::WritesPaused { .. } => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        e if e.is_storage_full() => StatusCode::INSUFFICIENT_STORAGE,
        // Well-formed, but its signatures do not stand: nothing to publish.
        Error::EfiUnverified(_) | Error::EfiAuthUnverified(_) => StatusCode::UNPROCESSABLE_ENTITY,
        // The registry says whose fault an error is; every other client error is a 400.
        e if e.is_client_error() => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let status = status_of(&e);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // Not a fault to hide: the client should know its write is recorded.
            tracing::warn!(error = %e, "write recorded but not yet applied or published");
            return ApiError::new(status, e.to_string());
        }
        if status == StatusCode::INSUFFICIENT_STORAGE {
            // The details name paths: logged, not sent.
            tracing::error!(error = %e, "storage full");
            return ApiError::new(
                status,
                "insufficient storage: the registry's disk or bucket is full; nothing was published",
            );
        }
        if status.is_server_error() {
            tracing::error!(error = %e, "request failed");
            return ApiError::new(status, "internal server error");
        }
        ApiError::new(status, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.message).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
