//! Extractors that validate input before any storage is touched.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use cairn_registry::Digest;

use crate::app::AppState;
use crate::error::ApiError;

/// A `{digest}` path segment: exactly 64 lowercase hex characters, so nothing else (`..`,
/// `%2F`, an absolute path) can reach the blob store.
#[derive(Debug)]
pub struct DigestPath(pub Digest);

impl<S: Send + Sync> FromRequestParts<S> for DigestPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| {
                ApiError::bad_request("invalid digest: expected 64 lowercase hex characters")
            })?;
        Digest::parse(&raw).map(DigestPath).ok_or_else(|| {
            ApiError::bad_request("invalid digest: expected 64 lowercase hex characters")
        })
    }
}

/// Proof that the request carried the server's bearer token.
#[derive(Debug)]
pub struct Authorized;

impl FromRequestParts<AppState> for Authorized {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        check_bearer(&parts.headers, state)
    }
}

fn unauthorized() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::UNAUTHORIZED,
        "missing or invalid bearer token",
    )
}

/// The token of `Authorization: Bearer <token>` (scheme case-insensitive).
fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(unauthorized)?;
    let value = value.to_str().map_err(|_| unauthorized())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(unauthorized)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(unauthorized());
    }
    Ok(token.trim_start())
}

/// Checks the server's bearer token, in constant time.
pub fn check_bearer(headers: &HeaderMap, state: &AppState) -> Result<Authorized, ApiError> {
    if !state.token.matches(bearer(headers)?) {
        return Err(unauthorized());
    }
    Ok(Authorized)
}

/// Who may submit a scan: the server's token, or an enrolled host's own token (which can do
/// nothing else: every other write route takes [`Authorized`] only).
#[derive(Debug)]
pub struct ScanSubmitter(pub cairn_registry::Submitter);

impl FromRequestParts<AppState> for ScanSubmitter {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(&parts.headers)?;
        if state.token.matches(token) {
            return Ok(ScanSubmitter(cairn_registry::Submitter::Admin));
        }
        match state.registry.host_for_token(token).await? {
            Some(host) => Ok(ScanSubmitter(cairn_registry::Submitter::Host(host))),
            None => Err(unauthorized()),
        }
    }
}
