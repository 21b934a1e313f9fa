//! Packages with detached signatures: `POST /packages`, `GET /packages`, `GET
//! /packages/{name}`, `GET|DELETE /packages/{name}/{version}`, `GET
//! /packages/{name}/{version}/proof` and `GET /packages/{name}/{version}/{file}` (the bytes,
//! or with a signature suffix, `.sig` for OpenPGP, that signature as uploaded).

use axum::Json;
use axum::extract::multipart::Field;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use cairn_api::{
    DEFAULT_PACKAGE_LIMIT, MAX_PACKAGE_LIMIT, PackageAdded, PackageList, PackageSummary,
    SignatureKind,
};
use cairn_registry::{Digest, NewPackage, PackageQuery, Staged};
use serde::Deserialize;

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::Authorized;
use crate::handlers::files::serve_blob;
use crate::handlers::upload::{check_declared, drain, multipart_error, receive_file};

/// Longest text field (`name`, `version`, `filename`, `media_type`) read.
const MAX_TEXT_FIELD: usize = 256;

/// `POST /packages`: multipart `file` (its file name, or a `filename` field, names it), one
/// or more `signature` parts, `name`, `version` and optionally `media_type`.
pub async fn upload(
    State(state): State<AppState>,
    _auth: Authorized,
    headers: HeaderMap,
    mut form: Multipart,
) -> Result<Json<PackageAdded>, ApiError> {
    let (staged, new) = read_form(&state, &headers, &mut form).await?;
    let (outcome, package) = state.registry.publish_package(staged, new).await?;
    Ok(Json(PackageAdded { outcome, package }))
}

async fn read_form(
    state: &AppState,
    headers: &HeaderMap,
    form: &mut Multipart,
) -> Result<(Staged, NewPackage), ApiError> {
    check_declared(state, headers)?;
    let mut file: Option<(Staged, Option<String>)> = None;
    let mut signatures = Vec::new();
    let (mut name, mut version, mut filename, mut media_type) = (None, None, None, None);
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        let Some(field_name) = field.name().map(str::to_owned) else {
            drain(field).await?;
            continue;
        };
        let slot = match field_name.as_str() {
            "file" if file.is_none() => {
                let given = field.file_name().map(str::to_owned);
                file = Some((receive_file(state, field).await?, given));
                continue;
            }
            "signature" => {
                if signatures.len() == cairn_api::MAX_PACKAGE_SIGNATURES {
                    return Err(ApiError::bad_request(format!(
                        "at most {} signatures",
                        cairn_api::MAX_PACKAGE_SIGNATURES
                    )));
                }
                signatures.push(read_field(field, cairn_api::MAX_SIGNATURE_BYTES).await?);
                continue;
            }
            "file" => return Err(ApiError::bad_request("field \"file\" appears twice")),
            "name" => &mut name,
            "version" => &mut version,
            "filename" => &mut filename,
            "media_type" => &mut media_type,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "unexpected field {field_name:?} in multipart form"
                )));
            }
        };
        if slot.is_some() {
            return Err(ApiError::bad_request(format!(
                "field {field_name:?} appears twice"
            )));
        }
        *slot = Some(text(read_field(field, MAX_TEXT_FIELD).await?, &field_name)?);
    }
    let (staged, given) = file.ok_or_else(|| ApiError::bad_request("file is required"))?;
    let required = |v: Option<String>, what: &str| {
        v.ok_or_else(|| ApiError::bad_request(format!("{what} is required")))
    };
    let file = filename
        .or(given)
        .ok_or_else(|| ApiError::bad_request("the file part has no file name: send filename"))?;
    let new = NewPackage {
        name: required(name, "name")?,
        version: required(version, "version")?,
        // Only the last path component of a client's file name (browsers send paths).
        file: file
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or_default()
            .to_owned(),
        media_type,
        signatures,
    };
    Ok((staged, new))
}

async fn read_field(mut field: Field<'_>, limit: usize) -> Result<Vec<u8>, ApiError> {
    let name = field.name().unwrap_or_default().to_owned();
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if bytes.len() + chunk.len() > limit {
            return Err(ApiError::bad_request(format!(
                "field {name:?} is longer than {limit} bytes"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn text(bytes: Vec<u8>, field: &str) -> Result<String, ApiError> {
    String::from_utf8(bytes)
        .map(|s| s.trim().to_owned())
        .map_err(|_| ApiError::bad_request(format!("field {field:?} is not UTF-8 text")))
}

/// Query string of `GET /packages` and `GET /packages/{name}`.
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    name: Option<String>,
    version: Option<String>,
    skip: Option<u32>,
    limit: Option<u32>,
}

impl ListParams {
    fn query(self, name: Option<String>) -> PackageQuery {
        PackageQuery {
            name: name.or(self.name),
            version: self.version,
            skip: self.skip.unwrap_or(0),
            limit: self
                .limit
                .unwrap_or(DEFAULT_PACKAGE_LIMIT)
                .min(MAX_PACKAGE_LIMIT),
        }
    }
}

/// Packages, by name, newest version first.
pub async fn list(
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
) -> Result<Json<PackageList>, ApiError> {
    let query = params.query(None);
    let packages = state.registry.packages(&query).await?;
    Ok(Json(PackageList {
        packages,
        skip: query.skip,
    }))
}

/// One package's versions, newest first; 404 when none is published.
pub async fn find(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(params): Query<ListParams>,
) -> Result<Json<PackageList>, ApiError> {
    let query = params.query(Some(name.clone()));
    let packages = state.registry.packages(&query).await?;
    if packages.is_empty() && query.skip == 0 && query.limit > 0 && query.version.is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no package {name} is published"),
        ));
    }
    Ok(Json(PackageList {
        packages,
        skip: query.skip,
    }))
}

async fn package(state: &AppState, name: &str, version: &str) -> Result<PackageSummary, ApiError> {
    state.registry.package(name, version).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no package {name} {version} is published"),
        )
    })
}

/// One package version.
pub async fn show(
    State(state): State<AppState>,
    Path((name, version)): Path<(String, String)>,
) -> Result<Json<PackageSummary>, ApiError> {
    Ok(Json(package(&state, &name, &version).await?))
}

/// Deletes a package version (logged); 200 with an empty body.
pub async fn delete(
    State(state): State<AppState>,
    _auth: Authorized,
    Path((name, version)): Path<(String, String)>,
) -> Result<(), ApiError> {
    state.registry.delete_package(&name, &version).await?;
    Ok(())
}

/// The package's log entry with its inclusion proof: JSON, or C2SP tlog-proof text (the
/// entry in its `extra` line) with `Accept: text/plain`.
pub async fn proof(
    State(state): State<AppState>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let found = package(&state, &name, &version).await?;
    let index = found
        .log_index
        .ok_or_else(|| internal("a package without its log entry"))?;
    crate::handlers::log::entry_proof(&state, index, &headers).await
}

/// The bytes (`{file}`, with ETag and Range) or one signature (`{file}.sig`, `.ecdsa`,
/// `.ed25519`, as uploaded).
pub async fn download(
    State(state): State<AppState>,
    Path((name, version, file)): Path<(String, String, String)>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let found = package(&state, &name, &version).await?;
    if file == found.file {
        let digest =
            Digest::parse(&found.digest).ok_or_else(|| internal("a package digest is not hex"))?;
        let mut answer = serve_blob(
            &state,
            &digest,
            found.size,
            &found.media_type,
            &method,
            &headers,
        )
        .await?;
        // The media type is the uploader's word: never rendered from this origin.
        let out = answer.headers_mut();
        out.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", found.file)) {
            out.insert(header::CONTENT_DISPOSITION, v);
        }
        return Ok(answer);
    }
    let signature = file
        .strip_prefix(found.file.as_str())
        .and_then(|suffix| found.signatures.iter().find(|s| s.kind.suffix() == suffix))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!("package {name} {version} has no file {file:?}"),
            )
        })?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&signature.signature)
        .map_err(|_| internal("a stored signature is not base64"))?;
    let content_type = match signature.kind {
        SignatureKind::Openpgp => "application/pgp-signature",
        SignatureKind::Ecdsa => "text/plain; charset=utf-8",
        SignatureKind::Ed25519 => "application/octet-stream",
    };
    Ok((
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        bytes,
    )
        .into_response())
}

fn internal(why: &str) -> ApiError {
    tracing::error!(why, "package row unusable");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
}
