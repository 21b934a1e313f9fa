//! Searching the log: the search index's candidates read from the log, each checked
//! against the entry's own keys, with the later deletion of what a hit published.

use cairn_api::{LogEntry, SearchKey, normalize_search, search_keys};

use super::Registry;
use super::journal::parse_logged;
use crate::error::Error;
use crate::index::search::{TAG_DELETE, TAG_PACKAGE_DELETE, key_hash};

/// Pages of candidates that all turned out to collide read before answering an empty page.
const COLLIDED_PAGES: u32 = 4;

/// Entries read from the log at a time when the search index is rebuilt.
const REBUILD_READ: u64 = 16 * 1024;

/// One entry a search found.
#[derive(Clone, Debug)]
pub struct Found {
    /// Its index in the log.
    pub index: u64,
    /// Its logged bytes (canonical JSON).
    pub bytes: Vec<u8>,
    /// For an artifact or package version: the later entry that deleted it.
    pub deleted_by: Option<u64>,
}

/// One page of a search.
#[derive(Clone, Debug)]
pub struct SearchPage {
    /// The normalised value searched for.
    pub value: String,
    /// The hits, by increasing index.
    pub hits: Vec<Found>,
    /// Where the next page starts (`after`); `None` on the last page.
    pub next: Option<u64>,
}

/// What deletes what an entry published: the key its deletion is stored under, and that
/// deletion's tag.
fn deletion_key(entry: &LogEntry) -> Option<(i64, i16)> {
    match entry {
        LogEntry::Artifact { digest, .. } => {
            let d = normalize_search(SearchKey::Digest, digest)?;
            Some((key_hash(SearchKey::Digest, &d), TAG_DELETE))
        }
        LogEntry::Package { name, version, .. } => {
            let v = normalize_search(SearchKey::Name, &format!("{name}@{version}"))?;
            Some((key_hash(SearchKey::Name, &v), TAG_PACKAGE_DELETE))
        }
        _ => None,
    }
}

/// Whether `deletion` deletes what `published` published.
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

impl Registry {
    /// Entries found by `key` = `value`, after index `after`, at most `limit` of them.
    ///
    /// The search index names candidates; each is read from the log (checked against its
    /// leaf) and kept only if it has the key, so the answer is what the log says.
    pub async fn search(
        &self,
        key: SearchKey,
        value: &str,
        after: Option<u64>,
        limit: u32,
    ) -> Result<SearchPage, Error> {
        let Some(value) = normalize_search(key, value) else {
            return Ok(SearchPage {
                value: value.to_owned(),
                hits: Vec::new(),
                next: None,
            });
        };
        let limit = limit.max(1);
        // Rows of entries sequenced but not yet published (the shared log's) are left for
        // a later search: only what a checkpoint covers is answered.
        let size = self.log.size();
        let (mut after, mut hits, mut parsed) = (after, Vec::new(), Vec::new());
        // A page whose candidates all collided reads on, a few pages at most: then the
        // answer is an empty page with where to go on.
        let mut rounds = 0;
        let next = loop {
            rounds += 1;
            let mut ids = self
                .index
                .search(key_hash(key, &value), after, limit.saturating_add(1))
                .await?;
            ids.retain(|i| *i < size);
            let next = (ids.len() > limit as usize).then(|| ids[limit as usize - 1]);
            ids.truncate(limit as usize);
            for (index, bytes) in ids.iter().copied().zip(self.read_at(ids.clone()).await?) {
                let entry = parse_logged(index, &bytes)?;
                if search_keys(&entry)
                    .iter()
                    .any(|(k, v)| *k == key && *v == value)
                {
                    hits.push(Found {
                        index,
                        bytes,
                        deleted_by: None,
                    });
                    parsed.push(entry);
                }
            }
            match next {
                Some(n) if hits.is_empty() && rounds < COLLIDED_PAGES => after = Some(n),
                _ => break next,
            }
        };
        self.find_deletions(&mut hits, &parsed).await?;
        Ok(SearchPage { value, hits, next })
    }

    /// Sets `deleted_by` on every hit that published something a later entry deleted.
    async fn find_deletions(&self, hits: &mut [Found], entries: &[LogEntry]) -> Result<(), Error> {
        let wanted: Vec<(usize, (i64, i16))> = entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| deletion_key(e).map(|k| (i, k)))
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let keys: Vec<i64> = wanted.iter().map(|(_, (k, _))| *k).collect();
        let rows = self
            .index
            .tagged(&keys, &[TAG_DELETE, TAG_PACKAGE_DELETE])
            .await?;
        // Candidates: for each hit, the first row of its key and tag after it.
        let mut candidates: Vec<(usize, u64)> = Vec::new();
        for (i, (key, tag)) in &wanted {
            let after = hits[*i].index;
            if let Some(at) = rows
                .iter()
                .filter(|(k, at, t)| k == key && t == tag && *at > crate::index::as_i64(after))
                .map(|(_, at, _)| *at)
                .min()
                .and_then(|at| u64::try_from(at).ok())
            {
                candidates.push((*i, at));
            }
        }
        let mut at: Vec<u64> = candidates.iter().map(|(_, a)| *a).collect();
        at.sort_unstable();
        at.dedup();
        let read = self.read_at(at.clone()).await?;
        for (i, deletion) in candidates {
            let Some(pos) = at.iter().position(|a| *a == deletion) else {
                continue;
            };
            let Some(bytes) = read.get(pos) else { continue };
            if deletes(&parse_logged(deletion, bytes)?, &entries[i]) {
                hits[i].deleted_by = Some(deletion);
            }
        }
        Ok(())
    }

    /// Rebuilds the search index alone from the whole log, in one transaction (a crash
    /// leaves the old one whole): what an index made before the search index gets at start,
    /// and `cairn admin reindex --search`. On PostgreSQL the transaction holds the shared
    /// log's sequence lock, so no entry is sequenced meanwhile. Rows are inserted in key
    /// order, so the table's B-tree is written front to back.
    pub async fn rebuild_search(&self) -> Result<u64, Error> {
        let mut tx = self.index.begin().await?;
        let size = if self.shared() {
            let size = crate::index::log_state::lock_sequence(&mut tx).await?;
            if size > 0 {
                self.log
                    .covering(size - 1, self.log_wait)
                    .await
                    .map_err(|_| Error::NotYetLogged(size - 1))?;
            }
            size
        } else {
            self.log.size()
        };
        let mut rows = Vec::new();
        let mut from = 0;
        while from < size {
            let to = size.min(from + REBUILD_READ);
            let entries = self.read_at((from..to).collect()).await?;
            for (i, bytes) in (from..to).zip(&entries) {
                rows.extend(crate::index::search::rows_of(&parse_logged(i, bytes)?, i));
            }
            from = to;
        }
        rows.sort_unstable();
        rows.dedup();
        crate::index::search::replace_all(&mut tx, &rows).await?;
        tx.commit().await?;
        tracing::info!(
            size,
            rows = rows.len(),
            "rebuilt the search index from the log"
        );
        Ok(size)
    }

    /// Published entries at `indexes` (increasing), each checked against its leaf.
    pub(super) async fn read_at(&self, mut indexes: Vec<u64>) -> Result<Vec<Vec<u8>>, Error> {
        indexes.sort_unstable();
        let log = self.log.clone();
        tokio::task::spawn_blocking(move || log.entries_at(&indexes))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
            .map_err(Error::from)
    }
}
