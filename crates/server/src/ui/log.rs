//! The log pages: the current checkpoint with the latest entries, any entry by index with
//! its inclusion proof, and the consistency proof between two tree sizes, each checked by
//! the server before it is shown.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Redirect, Response};
use cairn_api::{LogEntry, SearchKey};
use serde::Deserialize;

use super::files::{ProofView, proof_download};
use super::page::{UiError, cached, render};
use super::summary::EntryLine;
use super::text::b64;
use crate::app::AppState;
use crate::handlers::log::proof_parts;

/// Entries on one page of the log.
const ENTRIES_PER_PAGE: u64 = 25;

/// The checkpoint as the log page shows it.
struct CheckpointView {
    text: String,
    origin: String,
    size: u64,
    root: String,
}

fn checkpoint(state: &AppState) -> Result<CheckpointView, UiError> {
    let text = state.registry.log().checkpoint().to_string();
    let c = cairn_tlog::verify::open_checkpoint(text.as_bytes(), state.registry.log().verifier())
        .map_err(|e| UiError::from(crate::handlers::log::log_error(e)))?;
    Ok(CheckpointView {
        origin: c.origin,
        size: c.size,
        root: b64(&c.root),
        text,
    })
}

#[derive(Template)]
#[template(path = "log.html")]
struct LogPage {
    title: String,
    cp: CheckpointView,
    entries: Vec<EntryLine>,
    older: Option<u64>,
    newer: Option<u64>,
    tile: String,
}

/// Query of `/ui/log`.
#[derive(Deserialize)]
pub struct LogQuery {
    /// Show the entries below this index (default: the newest).
    before: Option<u64>,
}

/// `GET /ui/log?before=`: the checkpoint and a page of entries, newest first.
pub async fn show(
    State(state): State<AppState>,
    Query(q): Query<LogQuery>,
) -> Result<Response, UiError> {
    let key = format!("log\0{:?}", q.before);
    cached(&state, key, async {
        let cp = checkpoint(&state)?;
        let end = q.before.unwrap_or(cp.size).min(cp.size);
        let start = end.saturating_sub(ENTRIES_PER_PAGE);
        let log = state.registry.log().clone();
        let bytes = tokio::task::spawn_blocking(move || log.entries(start, end))
            .await
            .map_err(|e| UiError::from(cairn_registry::Error::Internal(e.to_string())))?
            .map_err(|e| UiError::from(crate::handlers::log::log_error(e)))?;
        let mut entries: Vec<EntryLine> = (start..)
            .zip(&bytes)
            .map(|(i, b)| EntryLine::new(i, b))
            .collect();
        entries.reverse();
        let newer = (end < cp.size).then(|| (end + ENTRIES_PER_PAGE).min(cp.size));
        render(&LogPage {
            title: "Transparency log".into(),
            older: (start > 0).then_some(start),
            newer,
            tile: "/log/tile/0/000".into(),
            entries,
            cp,
        })
    })
    .await
}

/// Query of `/ui/log/entries`: the entry form.
#[derive(Deserialize)]
pub struct IndexQuery {
    index: String,
}

/// `GET /ui/log/entries?index=`: the entry form's target, sent on to the entry's page.
pub async fn find(Query(q): Query<IndexQuery>) -> Result<Redirect, UiError> {
    let index: u64 = q
        .index
        .trim()
        .parse()
        .map_err(|_| UiError::bad_request("An entry index is a whole number."))?;
    Ok(Redirect::to(&format!("/ui/log/entries/{index}")))
}

#[derive(Template)]
#[template(path = "entry.html")]
struct EntryPage {
    title: String,
    line: EntryLine,
    proof: ProofView,
    proof_href: String,
    deleted_by: Option<u64>,
}

fn index_of(raw: &str) -> Result<u64, UiError> {
    raw.parse()
        .map_err(|_| UiError::bad_request("An entry index is a whole number."))
}

/// `GET /ui/log/entries/{index}`: one entry, its proof against the current checkpoint,
/// and a link to what it is about. An artifact whose deletion is logged keeps its proof
/// but not its text.
pub async fn entry(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Response, UiError> {
    let index = index_of(&raw)?;
    cached(&state, format!("entry\0{index}"), async {
        if index >= state.registry.log().size() {
            return Err(UiError::not_found(format!(
                "The log has no entry {index} yet."
            )));
        }
        let parts = proof_parts(&state, index).await?;
        let mut proof = ProofView::check(&state, &parts, |_| true);
        let deleted_by = deletion_of(&state, index, &parts.entry).await?;
        if let Some(by) = deleted_by {
            proof.entry = format!(
                "(not shown: the file this entry published was deleted by entry {by}; the \
                 entry's bytes are in the log's tiles)"
            );
        }
        render(&EntryPage {
            title: format!("Log entry {index}"),
            line: EntryLine::new(index, &parts.entry),
            proof,
            proof_href: format!("/ui/log/entries/{index}/tlog-proof"),
            deleted_by,
        })
    })
    .await
}

/// For an artifact entry, the later entry that deleted its file.
async fn deletion_of(state: &AppState, index: u64, bytes: &[u8]) -> Result<Option<u64>, UiError> {
    let Ok(LogEntry::Artifact { digest, .. }) = serde_json::from_slice::<LogEntry>(bytes) else {
        return Ok(None);
    };
    let page = state
        .registry
        .search(SearchKey::Digest, &digest, index.checked_sub(1), 100)
        .await?;
    Ok(page
        .hits
        .iter()
        .find(|h| h.index == index)
        .and_then(|h| h.deleted_by))
}

/// `GET /ui/log/entries/{index}/tlog-proof`: the entry page's proof as a tlog-proof file.
pub async fn entry_proof(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Response, UiError> {
    let index = index_of(&raw)?;
    if index >= state.registry.log().size() {
        return Err(UiError::not_found(format!(
            "The log has no entry {index} yet."
        )));
    }
    proof_download(&state, index, &format!("entry-{index}")).await
}

#[derive(Template)]
#[template(path = "consistency.html")]
struct ConsistencyPage {
    title: String,
    from: u64,
    to: u64,
    old_root: String,
    new_root: String,
    hashes: Vec<String>,
    problem: Option<String>,
}

/// Query of `/ui/log/consistency`.
#[derive(Deserialize)]
pub struct ConsistencyQuery {
    from: String,
    to: Option<String>,
}

/// `GET /ui/log/consistency?from=&to=`: that the tree of `to` entries extends the tree of
/// `from` (default `to`: the current size), with both roots and the proof.
pub async fn consistency(
    State(state): State<AppState>,
    Query(q): Query<ConsistencyQuery>,
) -> Result<Response, UiError> {
    let size = state.registry.log().size();
    let from = index_of(q.from.trim())?;
    let to = match q.to.as_deref().map(str::trim) {
        None | Some("") => size,
        Some(t) => index_of(t)?,
    };
    if to > size {
        return Err(UiError::bad_request(format!(
            "The log has {size} entries: it cannot prove a tree of {to}."
        )));
    }
    if from > to {
        return Err(UiError::bad_request(format!(
            "{from} is larger than {to}: a log only grows."
        )));
    }
    cached(&state, format!("consistency\0{from}\0{to}"), async {
        let log = state.registry.log();
        let err = |e| UiError::from(crate::handlers::log::log_error(e));
        let old_root = log.root_at(from).map_err(err)?;
        let new_root = log.root_at(to).map_err(err)?;
        let hashes = log.consistency_proof(from, to).map_err(err)?;
        let problem =
            cairn_tlog::merkle::verify_consistency(from, to, &old_root, &new_root, &hashes)
                .err()
                .map(|e| e.to_string());
        render(&ConsistencyPage {
            title: format!("Consistency {from} → {to}"),
            from,
            to,
            old_root: b64(&old_root),
            new_root: b64(&new_root),
            hashes: hashes.iter().map(|h| b64(h)).collect(),
            problem,
        })
    })
    .await
}
