//! `POST /efi/images`, `POST /efi/vars`, `GET /efi?authenticode=`, `GET /efi/{digest}`,
//! `GET /efi/{digest}/proof`: published Secure Boot files. An image is taken only when it
//! is signed and every signature verifies over its Authenticode digest; a signed variable
//! update only when its signature verifies for the variable it is published as. Either is
//! stored, logged once, and served back byte for byte with the proof of its entry.

use axum::Json;
use axum::extract::multipart::Field;
use axum::extract::{Multipart, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use cairn_api::{EfiAdded, EfiFile, EfiList};
use cairn_registry::{MAX_EFI_LISTED, Staged};
use serde::Deserialize;

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::{Authorized, DigestPath};
use crate::handlers::files::serve_blob;
use crate::handlers::upload::{check_declared, drain, multipart_error, receive_file};

/// Longest `variable` or `append` field read.
const MAX_TEXT_FIELD: usize = 16;

/// What an EFI upload form carries: the file, and for an update its variable and kind of
/// write.
struct EfiForm {
    file: Staged,
    variable: Option<String>,
    append: Option<String>,
}

/// Reads `file` (streamed to staging) and, when `update`, `variable` and `append`.
async fn read_form(
    state: &AppState,
    headers: &HeaderMap,
    form: &mut Multipart,
    update: bool,
) -> Result<EfiForm, ApiError> {
    check_declared(state, headers)?;
    let (mut file, mut variable, mut append) = (None, None, None);
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        let name = field.name().map(str::to_owned);
        let slot = match name.as_deref() {
            Some("file") if file.is_none() => {
                file = Some(receive_file(state, field).await?);
                continue;
            }
            Some("variable") if update && variable.is_none() => &mut variable,
            Some("append") if update && append.is_none() => &mut append,
            Some(n @ ("file" | "variable" | "append")) if update || n == "file" => {
                return Err(ApiError::bad_request(format!("field {n:?} appears twice")));
            }
            Some(_) => return Err(ApiError::bad_request("unexpected field in multipart form")),
            None => {
                drain(field).await?;
                continue;
            }
        };
        *slot = Some(read_text(field).await?);
    }
    let file = file.ok_or_else(|| ApiError::bad_request("file is required"))?;
    Ok(EfiForm {
        file,
        variable,
        append,
    })
}

async fn read_text(mut field: Field<'_>) -> Result<String, ApiError> {
    let mut text = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if text.len() + chunk.len() > MAX_TEXT_FIELD {
            return Err(ApiError::bad_request("a form field is too long"));
        }
        text.extend_from_slice(&chunk);
    }
    String::from_utf8(text).map_err(|_| ApiError::bad_request("a form field is not UTF-8 text"))
}

/// Stores a signed EFI image (multipart `file`) whose every signature verifies; 422 when it
/// is unsigned or a signature does not verify, 400 when it is no PE image.
pub async fn upload_image(
    State(state): State<AppState>,
    _auth: Authorized,
    headers: HeaderMap,
    mut form: Multipart,
) -> Result<Json<EfiAdded>, ApiError> {
    let form = read_form(&state, &headers, &mut form, false).await?;
    let (outcome, file) = state.registry.publish_efi_image(form.file).await?;
    Ok(Json(EfiAdded { outcome, file }))
}

/// Stores a signed variable update (multipart `file`, `variable` = `PK`/`KEK`/`db`/`dbx`,
/// `append` = `true`/`false`, default false) whose signature verifies for that variable
/// and kind of write; 422 when it does not, 400 when it is malformed.
pub async fn upload_vars(
    State(state): State<AppState>,
    _auth: Authorized,
    headers: HeaderMap,
    mut form: Multipart,
) -> Result<Json<EfiAdded>, ApiError> {
    let form = read_form(&state, &headers, &mut form, true).await?;
    let variable: cairn_registry::EfiVariable = form
        .variable
        .as_deref()
        .ok_or_else(|| ApiError::bad_request("variable is required (PK, KEK, db or dbx)"))?
        .parse()
        .map_err(|e: String| ApiError::bad_request(format!("variable: {e}")))?;
    let append = match form.append.as_deref() {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "append: {other:?}: expected true or false"
            )));
        }
    };
    let (outcome, file) = state
        .registry
        .publish_efi_vars(form.file, variable, append)
        .await?;
    Ok(Json(EfiAdded { outcome, file }))
}

/// Query of `GET /efi`.
#[derive(Debug, Deserialize)]
pub struct ListParams {
    authenticode: String,
    limit: Option<u32>,
}

/// The published images with an Authenticode digest (`?authenticode=HEX`), oldest first:
/// what a fleet asks of the image a machine booted.
pub async fn list(
    State(state): State<AppState>,
    Query(p): Query<ListParams>,
) -> Result<Json<EfiList>, ApiError> {
    if cairn_registry::Digest::parse(&p.authenticode).is_none() {
        return Err(ApiError::bad_request(
            "authenticode: expected 64 lowercase hex characters",
        ));
    }
    let limit = p.limit.unwrap_or(100).min(MAX_EFI_LISTED);
    let images = state.registry.efi_images(&p.authenticode, limit).await?;
    Ok(Json(EfiList {
        files: images.into_iter().map(EfiFile::EfiImage).collect(),
    }))
}

fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "EFI file not found")
}

/// The stored file itself, whole or one range.
pub async fn download(
    State(state): State<AppState>,
    DigestPath(digest): DigestPath,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let file = state
        .registry
        .efi_file(&digest)
        .await?
        .ok_or_else(not_found)?;
    serve_blob(
        &state,
        &digest,
        file.size(),
        "application/octet-stream",
        &method,
        &headers,
    )
    .await
}

/// The file's log entry with its inclusion proof and checkpoint, as for artifacts (what
/// `cairn efi verify --log` checks).
pub async fn proof(
    State(state): State<AppState>,
    DigestPath(digest): DigestPath,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let file = state
        .registry
        .efi_file(&digest)
        .await?
        .ok_or_else(not_found)?;
    let index = file.log_index().ok_or_else(not_found)?;
    crate::handlers::log::entry_proof(&state, index, &headers).await
}
