//! The key page: everything a key id signed, from the log search, with what of it was
//! deleted since.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Redirect, Response};
use cairn_api::{SearchKey, normalize_search};
use serde::Deserialize;

use super::page::{UiError, cached, render};
use super::summary::EntryLine;
use crate::app::AppState;

/// Entries on one page of a key's.
const ENTRIES_PER_PAGE: u32 = 50;

/// One thing the key signed.
pub struct SignedRow {
    /// The entry.
    pub line: EntryLine,
    /// The later entry that deleted what it published.
    pub deleted_by: Option<u64>,
}

#[derive(Template)]
#[template(path = "key.html")]
struct KeyPage {
    title: String,
    key: String,
    rows: Vec<SignedRow>,
    next: Option<u64>,
}

/// Query of `/ui/keys`: the key form.
#[derive(Deserialize)]
pub struct KeyForm {
    key: String,
}

fn key_id(raw: &str) -> Result<String, UiError> {
    normalize_search(SearchKey::Key, raw.trim()).ok_or_else(|| {
        UiError::bad_request("A key id is the hex SHA-256 of a key or an OpenPGP fingerprint.")
    })
}

/// `GET /ui/keys?key=`: the key form's target, sent on to the key's page.
pub async fn find(Query(q): Query<KeyForm>) -> Result<Redirect, UiError> {
    Ok(Redirect::to(&format!("/ui/keys/{}", key_id(&q.key)?)))
}

/// Query of `/ui/keys/{key}`.
#[derive(Deserialize)]
pub struct PageQuery {
    after: Option<u64>,
}

/// `GET /ui/keys/{key}?after=`: the entries signed by the key, oldest first.
pub async fn show(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, UiError> {
    let key = key_id(&raw)?;
    cached(&state, format!("key\0{key}\0{:?}", q.after), async {
        let page = state
            .registry
            .search(SearchKey::Key, &key, q.after, ENTRIES_PER_PAGE)
            .await?;
        let rows = page
            .hits
            .into_iter()
            .map(|h| SignedRow {
                line: EntryLine::new(h.index, &h.bytes),
                deleted_by: h.deleted_by,
            })
            .collect();
        render(&KeyPage {
            title: format!("Key {}", key.get(..16).unwrap_or(&key)),
            key,
            rows,
            next: page.next,
        })
    })
    .await
}
