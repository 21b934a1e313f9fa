//! Mirror errors as HTTP answers: whose fault each is decides the status.

use axum::http::StatusCode;
use cairn_mirror::Error;

use crate::error::ApiError;

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let status = match &e {
            Error::Unreachable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Error::Refused { .. } => StatusCode::BAD_GATEWAY,
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::Upstream { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY)
            }
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            // The details name the mirror's paths: logged, not sent.
            tracing::error!(error = %e, "mirror failure");
            return ApiError::new(status, "internal error");
        }
        ApiError::new(status, e.to_string())
    }
}
