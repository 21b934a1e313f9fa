//! `POST /files`: multipart `file` + `signature`, answered `"Added"` or `"AlreadyExists"`.
//!
//! Fixed against upstream: the file streams to disk (upstream buffered it in RAM), a body
//! over the limit is 413 (upstream: 400), high-S signatures are normalised, binaries with no
//! descriptor are refused (nothing to index), and a duplicate descriptor name cannot crash
//! the server.

use axum::Json;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode, header};
use cairn_registry::{Error, Staged, UploadOutcome};

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::Authorized;

/// Longest `signature` field read (hex DER is under 150 characters).
const MAX_SIGNATURE_FIELD: usize = 4096;
/// Allowance for multipart framing and the signature on top of the file size limit.
const MULTIPART_OVERHEAD: u64 = 64 * 1024;

/// Receives, checks and stores an upload.
pub async fn upload(
    State(state): State<AppState>,
    _auth: Authorized,
    headers: HeaderMap,
    mut form: Multipart,
) -> Result<Json<UploadOutcome>, ApiError> {
    let (file, signature) = read_form(&state, &headers, &mut form).await?;
    Ok(Json(state.registry.publish(file, &signature).await?))
}

/// Reads a `file` + `signature` multipart form, streaming the file to staging.
pub async fn read_form(
    state: &AppState,
    headers: &HeaderMap,
    form: &mut Multipart,
) -> Result<(Staged, String), ApiError> {
    check_declared(state, headers)?;
    let mut file: Option<Staged> = None;
    let mut signature: Option<String> = None;
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("file") if file.is_none() => file = Some(receive_file(state, field).await?),
            Some("signature") if signature.is_none() => {
                signature = Some(read_signature(field).await?)
            }
            Some(name @ ("file" | "signature")) => {
                return Err(ApiError::bad_request(format!(
                    "field {name:?} appears twice"
                )));
            }
            Some(_) => return Err(ApiError::bad_request("unexpected field in multipart form")),
            None => drain(field).await?,
        }
    }
    let file = file.ok_or_else(|| ApiError::bad_request("file is required"))?;
    let signature = signature.ok_or_else(|| ApiError::bad_request("file signature is required"))?;
    Ok((file, signature))
}

/// A body that declares more than the upload limit (plus framing) is refused before it is
/// read: 413.
pub(crate) fn check_declared(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let limit = state.registry.max_upload_bytes();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit.saturating_add(MULTIPART_OVERHEAD)) {
        return Err(Error::TooLarge { limit }.into());
    }
    Ok(())
}

/// Streams a `file` field into a staging file (hashed as it arrives, never in memory).
pub(crate) async fn receive_file(
    state: &AppState,
    mut field: Field<'_>,
) -> Result<Staged, ApiError> {
    let mut upload = state.registry.begin_upload().await?;
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        upload.write(chunk).await?;
    }
    Ok(upload.finish().await?)
}

async fn read_signature(mut field: Field<'_>) -> Result<String, ApiError> {
    let mut text = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if text.len() + chunk.len() > MAX_SIGNATURE_FIELD {
            return Err(ApiError::bad_request("signature field is too long"));
        }
        text.extend_from_slice(&chunk);
    }
    String::from_utf8(text).map_err(|_| ApiError::bad_request("signature is not UTF-8 text"))
}

/// Reads a field to its end, keeping nothing.
pub(crate) async fn drain(mut field: Field<'_>) -> Result<(), ApiError> {
    while field.chunk().await.map_err(multipart_error)?.is_some() {}
    Ok(())
}

/// A multipart failure as an answer: too slow (408), too large (413), else malformed (400).
pub(crate) fn multipart_error(e: MultipartError) -> ApiError {
    if let Some(slow) = crate::body_rate::too_slow(&e) {
        return ApiError::new(StatusCode::REQUEST_TIMEOUT, slow.to_string());
    }
    let status = e.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(status, e.body_text());
    }
    ApiError::bad_request(format!("malformed multipart body: {}", e.body_text()))
}
