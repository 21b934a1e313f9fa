//! `GET /log/search`: entries by what they publish, speak of or were signed by.
//!
//! Rekor answers a search with entry ids only; this answers the entries themselves, and on
//! request their inclusion proofs against one checkpoint, so a client proves a whole page
//! without a request per hit.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use cairn_api::{DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT, SearchAnswer, SearchHit, SearchKey};
use serde_json::value::RawValue;

use super::log::{b64_all, log_error};
use crate::app::AppState;
use crate::error::ApiError;

/// The fields of `/log/search`: one key, and the page (unknown fields are refused, so a
/// misspelt key never answers as if nothing matched).
type SearchQuery = HashMap<String, String>;

/// What one query asks: the key, its value, the page, and whether proofs go with it.
struct Asked {
    key: SearchKey,
    value: String,
    after: Option<u64>,
    limit: u32,
    proofs: bool,
}

fn parse(q: SearchQuery) -> Result<Asked, ApiError> {
    let mut keys = q;
    let number =
        |keys: &mut HashMap<String, String>, name: &str| -> Result<Option<u64>, ApiError> {
            keys.remove(name)
                .map(|v| {
                    v.parse::<u64>()
                        .map_err(|_| ApiError::bad_request(format!("{name}={v:?} is not a number")))
                })
                .transpose()
        };
    let after = number(&mut keys, "after")?;
    let limit = number(&mut keys, "limit")?.map_or(DEFAULT_SEARCH_LIMIT, |l| {
        l.clamp(1, u64::from(MAX_SEARCH_LIMIT)) as u32
    });
    let proofs = match keys.remove("proofs").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "proofs={other:?}: expected true or false"
            )));
        }
    };
    let fields = SearchKey::ALL.map(SearchKey::as_str).join("=, ");
    let given: Vec<(SearchKey, String)> = SearchKey::ALL
        .iter()
        .filter_map(|k| keys.remove(k.as_str()).map(|v| (*k, v)))
        .collect();
    if let Some(unknown) = keys.keys().next() {
        return Err(ApiError::bad_request(format!(
            "unknown field {unknown:?}: give one of {fields}=, and after=, limit=, proofs="
        )));
    }
    let mut given = given.into_iter();
    let (key, value) = given
        .next()
        .ok_or_else(|| ApiError::bad_request(format!("give one of {fields}=")))?;
    if given.next().is_some() {
        return Err(ApiError::bad_request(format!("give only one of {fields}=")));
    }
    Ok(Asked {
        key,
        value,
        after,
        limit,
        proofs,
    })
}

/// `GET /log/search?digest=|subject=|material=|key=|name=|host=[&after=N][&limit=N][&proofs=true]`.
pub async fn search(
    State(state): State<AppState>,
    Query(q): Query<SearchQuery>,
) -> Result<Json<SearchAnswer<Box<RawValue>>>, ApiError> {
    let asked = parse(q)?;
    let page = state
        .registry
        .search(asked.key, &asked.value, asked.after, asked.limit)
        .await?;
    // The checkpoint is taken after the search: every hit is below its size.
    let (checkpoint, size) = if asked.proofs {
        let log = state.registry.log();
        let text = log.checkpoint().to_string();
        let size = cairn_tlog::verify::open_checkpoint(text.as_bytes(), log.verifier())
            .map_err(log_error)?
            .size;
        (Some(text), size)
    } else {
        (None, 0)
    };
    let mut hits = Vec::with_capacity(page.hits.len());
    for found in page.hits {
        let proof = match checkpoint {
            Some(_) => Some(b64_all(
                state
                    .registry
                    .log()
                    .inclusion_proof(found.index, size)
                    .map_err(log_error)?,
            )),
            None => None,
        };
        hits.push(SearchHit {
            index: found.index,
            // Logged entries are canonical JSON: passed on as they are, not parsed again.
            entry: RawValue::from_string(String::from_utf8(found.bytes).map_err(|_| {
                ApiError::from(cairn_registry::Error::Corrupt(format!(
                    "log entry {} is not UTF-8",
                    found.index
                )))
            })?)
            .map_err(|e| {
                ApiError::from(cairn_registry::Error::Corrupt(format!(
                    "log entry {}: {e}",
                    found.index
                )))
            })?,
            deleted_by: found.deleted_by,
            proof,
        });
    }
    Ok(Json(SearchAnswer {
        key: asked.key,
        value: page.value,
        hits,
        next: page.next,
        checkpoint,
    }))
}
