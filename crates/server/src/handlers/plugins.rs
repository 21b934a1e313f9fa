//! `GET /plugins` and `GET /plugins/{name}`.
//!
//! Fixed against upstream: `skip` applies after filtering (upstream skipped before), long or
//! odd `version` values cannot crash the handler, and the documented `digest` and
//! `digest_short` filters exist.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use cairn_api::{PluginList, VariantList};
use cairn_plugin::{Architecture, FileType};
use cairn_registry::{DEFAULT_LIMIT, Digest, DigestPrefix, FindQuery, MAX_LIMIT};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::error::ApiError;

/// Query string of `GET /plugins/{name}`, as sent.
#[derive(Debug, Default, Deserialize)]
pub struct FindParams {
    version: Option<String>,
    memflow_plugin_version: Option<i32>,
    file_type: Option<String>,
    architecture: Option<String>,
    digest: Option<String>,
    digest_short: Option<String>,
    key_id: Option<String>,
    skip: Option<u32>,
    limit: Option<u32>,
}

impl FindParams {
    pub(crate) fn validate(self) -> Result<FindQuery, ApiError> {
        let file_type = self
            .file_type
            .map(|f| FileType::parse(&f).ok_or_else(|| bad("file_type", "pe, elf or mach")))
            .transpose()?;
        let architecture = self
            .architecture
            .map(|a| match Architecture::from_key(&a) {
                Some(Architecture::Unknown(_)) | None => {
                    Err(bad("architecture", "x86, x86_64, arm or arm64"))
                }
                Some(a) => Ok(a),
            })
            .transpose()?;
        let digest = self
            .digest
            .map(|d| Digest::parse(&d).ok_or_else(|| bad("digest", "64 lowercase hex characters")))
            .transpose()?;
        let digest_short = self
            .digest_short
            .map(|d| {
                DigestPrefix::parse(&d)
                    .ok_or_else(|| bad("digest_short", "up to 64 lowercase hex characters"))
            })
            .transpose()?;
        let key_id = self
            .key_id
            .map(|k| {
                (k.len() == 64 && k.bytes().all(|b| b.is_ascii_hexdigit()))
                    .then(|| k.to_ascii_lowercase())
                    .ok_or_else(|| bad("key_id", "64 hex characters"))
            })
            .transpose()?;
        Ok(FindQuery {
            key_id,
            version: self.version,
            memflow_plugin_version: self.memflow_plugin_version,
            file_type,
            architecture,
            digest,
            digest_short,
            skip: self.skip.unwrap_or(0),
            limit: self.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT),
        })
    }
}

fn bad(param: &str, expected: &str) -> ApiError {
    ApiError::bad_request(format!("invalid {param}: expected {expected}"))
}

/// Every plugin name, sorted, with the description of its first variant.
pub async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    cached(&state, "plugins".into(), async {
        Ok(PluginList {
            plugins: state.registry.plugins().await?,
        })
    })
    .await
}

/// The variants of one plugin, filtered, ABI descending then newest first.
pub async fn find(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(params): Query<FindParams>,
) -> Result<Response, ApiError> {
    let query = params.validate()?;
    // No plugin can have a name longer than uploads accept: answer without a query.
    if name.len() > cairn_registry::MAX_NAME_BYTES {
        return Ok(json_response(Bytes::from(
            serde_json::to_vec(&VariantList {
                plugins: Vec::new(),
                skip: query.skip,
            })
            .unwrap_or_default(),
        )));
    }
    let key = format!("find\0{name}\0{query:?}");
    cached(&state, key, async {
        let plugins = state.registry.find(&name, &query).await?;
        Ok(VariantList {
            plugins,
            skip: query.skip,
        })
    })
    .await
}

/// Serves the JSON cached for `key` at the current generation, or computes and caches it.
async fn cached<T: Listing>(
    state: &AppState,
    key: String,
    compute: impl Future<Output = Result<T, ApiError>>,
) -> Result<Response, ApiError> {
    // Read the generation before querying: a write landing meanwhile makes this entry stale.
    let generation = state.registry.generation();
    let body = match state.cache.get(&key, generation) {
        Some(body) => body,
        None => {
            let answer = compute.await?;
            let body = Bytes::from(serde_json::to_vec(&answer).map_err(|e| {
                tracing::error!(error = %e, "serialising a listing");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
            })?);
            // A miss is not kept: its key is whatever name a client makes up.
            if !answer.is_empty() {
                state.cache.put(key, generation, body.clone());
            }
            body
        }
    };
    Ok(json_response(body))
}

fn json_response(body: Bytes) -> Response {
    let json = [(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    )];
    (json, body).into_response()
}

/// Whether a listing found anything (only hits are cached).
trait Listing: Serialize {
    fn is_empty(&self) -> bool;
}

impl Listing for PluginList {
    fn is_empty(&self) -> bool {
        self.plugins.is_empty()
    }
}

impl Listing for VariantList {
    fn is_empty(&self) -> bool {
        self.plugins.is_empty()
    }
}
