//! Searching the log and proving every answer: each hit's inclusion in a checkpoint signed
//! by the pinned log key and consistent with what this client saw, each hit found by the
//! key asked (the registry cannot slip in another entry), and each deletion it claims
//! proven as well.
//!
//! What a search cannot prove is absence: a registry may leave an entry out. A hit left out
//! is still in the log for anyone who audits it (`cairn log verify`), and a deletion left
//! out makes an artifact look not deleted, the careful answer to "what did key K sign".
//! Pages are followed up to the log's size when the first page was answered.

use cairn_api::{LogEntry, SearchAnswer, SearchKey, normalize_search, search_keys};
use cairn_tlog::{Checkpoint, NoteVerifier};

use crate::client::{Client, SearchRequest};
use crate::error::{Error, Refusal};
use crate::proof::{consistent, hashes};
use crate::state::LogState;

/// A hit proven to be in the log and found by the key asked.
#[derive(Clone, Debug)]
pub struct ProvenHit {
    /// Its index.
    pub index: u64,
    /// The entry.
    pub entry: LogEntry,
    /// The proven later entry that deleted what this one published, if the registry named
    /// one.
    pub deleted_by: Option<u64>,
}

/// Every hit of a search, proven.
#[derive(Clone, Debug)]
pub struct ProvenSearch {
    /// The key searched.
    pub key: SearchKey,
    /// The value, normalised.
    pub value: String,
    /// The hits, by increasing index.
    pub hits: Vec<ProvenHit>,
    /// The last checkpoint proofs were checked against.
    pub checkpoint: Option<Checkpoint>,
}

/// The search key a deletion of what `entry` published is found by, and whether an entry
/// is that deletion.
fn deletion_of(entry: &LogEntry) -> Option<(SearchKey, String)> {
    match entry {
        LogEntry::Artifact { digest, .. } => Some((SearchKey::Digest, digest.clone())),
        LogEntry::Package { name, version, .. } => {
            Some((SearchKey::Name, format!("{name}@{version}")))
        }
        _ => None,
    }
}

fn deletes(deletion: &LogEntry, published: &LogEntry) -> bool {
    match (deletion, published) {
        (LogEntry::Delete { digest: d, .. }, LogEntry::Artifact { digest, .. }) => {
            d.eq_ignore_ascii_case(digest)
        }
        (
            LogEntry::PackageDelete {
                name: n,
                version: v,
                ..
            },
            LogEntry::Package { name, version, .. },
        ) => n == name && v == version,
        _ => false,
    }
}

/// Searches the log for `key` = `value`, following pages until `max_hits` hits (all when
/// `None`), and proves every hit and every deletion a hit claims.
pub async fn search(
    client: &Client,
    key: SearchKey,
    value: &str,
    max_hits: Option<usize>,
    log: &NoteVerifier,
    state: &LogState,
) -> Result<ProvenSearch, Error> {
    let value = normalize_search(key, value)
        .ok_or_else(|| Refusal::Log(format!("{}={value:?} can match nothing", key.as_str())))?;
    let mut out = ProvenSearch {
        key,
        value: value.clone(),
        hits: Vec::new(),
        checkpoint: None,
    };
    let mut after = None;
    // The log as of the first page: pages past it are a later search's (a registry growing
    // its log page by page cannot keep this one going).
    let mut bound = None;
    loop {
        let request = SearchRequest {
            key,
            value: value.clone(),
            after,
            limit: None,
            proofs: true,
        };
        let answer = client.search(&request).await?;
        let (page, checkpoint) = prove_page(client, &request, &answer, log, state).await?;
        let bound = *bound.get_or_insert(checkpoint.size);
        out.checkpoint = Some(checkpoint);
        for (index, entry, claimed) in page {
            let deleted_by = match claimed {
                Some(at) => Some(prove_deletion(client, index, &entry, at, log, state).await?),
                None => None,
            };
            out.hits.push(ProvenHit {
                index,
                entry,
                deleted_by,
            });
        }
        let full = max_hits.is_some_and(|m| out.hits.len() >= m);
        match answer.next {
            Some(next) if !full && next + 1 < bound => after = Some(next),
            _ => break,
        }
    }
    if let Some(m) = max_hits {
        out.hits.truncate(m);
    }
    Ok(out)
}

/// Proves that entry `at` deletes what entry `index` published.
async fn prove_deletion(
    client: &Client,
    index: u64,
    entry: &LogEntry,
    at: u64,
    log: &NoteVerifier,
    state: &LogState,
) -> Result<u64, Error> {
    let refused = |what: String| Error::from(Refusal::Entry { index: at, what });
    let Some((key, value)) = deletion_of(entry) else {
        return Err(refused(format!(
            "is named as the deletion of entry {index}, which publishes nothing to delete"
        )));
    };
    if at <= index {
        return Err(refused(format!(
            "is named as the deletion of the later entry {index}"
        )));
    }
    let request = SearchRequest {
        key,
        value: normalize_search(key, &value).unwrap_or(value),
        after: Some(at - 1),
        limit: Some(1),
        proofs: true,
    };
    let answer = client.search(&request).await?;
    let (page, _) = prove_page(client, &request, &answer, log, state).await?;
    match page.first() {
        Some((i, deletion, _)) if *i == at && deletes(deletion, entry) => Ok(at),
        _ => Err(refused(format!(
            "is named as the deletion of entry {index}, but the log shows no such deletion there"
        ))),
    }
}

/// One answer's hits, each proven in the answer's checkpoint and found by the key asked,
/// with the deletion each claims (not yet proven).
async fn prove_page(
    client: &Client,
    request: &SearchRequest,
    answer: &SearchAnswer,
    log: &NoteVerifier,
    state: &LogState,
) -> Result<(Vec<(u64, LogEntry, Option<u64>)>, Checkpoint), Error> {
    if answer.key != request.key || answer.value != request.value {
        return Err(Refusal::Log(format!(
            "asked for {}={}, the registry answered {}={}",
            request.key.as_str(),
            request.value,
            answer.key.as_str(),
            answer.value
        ))
        .into());
    }
    let text = answer
        .checkpoint
        .as_deref()
        .ok_or_else(|| Refusal::Log("a search answer without the checkpoint asked for".into()))?;
    let checkpoint = cairn_tlog::verify::open_checkpoint(text.as_bytes(), log)
        .map_err(|e| Refusal::Log(format!("checkpoint signature: {e}")))?;
    consistent(
        client,
        crate::proof::DEFAULT_LOG_ROUTES,
        log,
        state,
        &checkpoint,
        text,
    )
    .await?;
    state.save(log, text, checkpoint.size)?;
    let mut last = request.after;
    let mut out = Vec::with_capacity(answer.hits.len());
    for hit in &answer.hits {
        let refused = |what: String| {
            Error::from(Refusal::Entry {
                index: hit.index,
                what,
            })
        };
        if last.is_some_and(|l| hit.index <= l) {
            return Err(refused("comes out of order in the search answer".into()));
        }
        last = Some(hit.index);
        let proof = hit
            .proof
            .as_deref()
            .ok_or_else(|| refused("comes without the inclusion proof asked for".into()))?;
        let proof = hashes(proof).map_err(|e| Refusal::Log(format!("inclusion proof: {e}")))?;
        let leaf = cairn_tlog::merkle::leaf_hash(&cairn_tlog::entry::canonical(&hit.entry));
        cairn_tlog::merkle::verify_inclusion(
            hit.index,
            checkpoint.size,
            &leaf,
            &proof,
            &checkpoint.root,
        )
        .map_err(|e| {
            refused(format!(
                "is not in the checkpoint of {} entries: {e}",
                checkpoint.size
            ))
        })?;
        let entry: LogEntry = serde_json::from_value(hit.entry.clone())
            .map_err(|e| refused(format!("is no registry entry: {e}")))?;
        let found = search_keys(&entry)
            .iter()
            .any(|(k, v)| *k == request.key && *v == request.value);
        if !found {
            return Err(refused(format!(
                "is not found by {}={}: the registry answered an entry the query does not match",
                request.key.as_str(),
                request.value
            )));
        }
        out.push((hit.index, entry, hit.deleted_by));
    }
    // Each page must move forward within the log, so following pages ends.
    if let Some(next) = answer.next {
        let backwards = last.is_some_and(|l| next < l) || request.after.is_some_and(|a| next <= a);
        if backwards || next >= checkpoint.size {
            return Err(Refusal::Log(format!(
                "a search answer whose next page (after {next}) does not move forward within the \
                 log's {} entries",
                checkpoint.size
            ))
            .into());
        }
    }
    Ok((out, checkpoint))
}
