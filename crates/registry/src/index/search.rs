//! The `search` table: every key a log entry is found by ([`cairn_api::search_keys`]),
//! written by the projection with the entry's other rows, and the lookups
//! `GET /log/search` makes.
//!
//! A row holds 8 bytes of SHA-256 over the key's kind and value rather than the value: the
//! table stays small whatever the values are, and the registry reads every hit's entry
//! anyway, so it drops a colliding row by checking the entry's own keys.

use cairn_api::{LogEntry, SearchKey, search_keys};
use sha2::{Digest as _, Sha256};
use sqlx::QueryBuilder;

use super::{Index, WriteTx, as_i64};
use crate::error::Error;

/// Rows per INSERT when many entries are indexed at once (3 bound values each: well under
/// SQLite's limit of 32,766).
const ROWS_PER_INSERT: usize = 1000;

/// A search row: key hash, log index, entry tag.
#[allow(clippy::type_complexity)]
pub(crate) type SearchRow = (i64, i64, i16);

/// The stored key of `value` (already normalised) under `key`.
pub(crate) fn key_hash(key: SearchKey, value: &str) -> i64 {
    let mut h = Sha256::new();
    h.update(key.as_str().as_bytes());
    h.update([0]);
    h.update(value.as_bytes());
    let d = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    i64::from_be_bytes(first)
}

/// The entry's kind as stored with its rows.
pub(crate) fn tag_of(entry: &LogEntry) -> i16 {
    match entry {
        LogEntry::Artifact { .. } => 1,
        LogEntry::Delete { .. } => 2,
        LogEntry::Scan { .. } => 3,
        LogEntry::Host { .. } => 4,
        LogEntry::Baseline { .. } => 5,
        LogEntry::Attestation { .. } => 6,
        LogEntry::Package { .. } => 7,
        LogEntry::PackageDelete { .. } => 8,
        LogEntry::EfiImage { .. } => 9,
        LogEntry::EfiVars { .. } => 10,
        LogEntry::Policy { .. } => 11,
    }
}

/// The tag of `delete` entries.
pub(crate) const TAG_DELETE: i16 = 2;
/// The tag of `attestation` entries.
pub(crate) const TAG_ATTESTATION: i16 = 6;
/// The tag of `package_delete` entries.
pub(crate) const TAG_PACKAGE_DELETE: i16 = 8;

/// Every search row of entry `at`.
pub(crate) fn rows_of(entry: &LogEntry, at: u64) -> Vec<SearchRow> {
    let tag = tag_of(entry);
    search_keys(entry)
        .iter()
        .map(|(k, v)| (key_hash(*k, v), as_i64(at), tag))
        .collect()
}

/// Inserts `rows` (any number; an existing row is kept, so replaying an entry is harmless).
pub(crate) async fn insert_rows(tx: &mut WriteTx, rows: &[SearchRow]) -> Result<(), Error> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        on_tx!(tx, |conn, Db| {
            let mut q = QueryBuilder::<Db>::new("INSERT INTO search (key, log_index, tag) ");
            q.push_values(chunk, |mut b, (key, at, tag)| {
                b.push_bind(*key).push_bind(*at).push_bind(*tag);
            });
            q.push(" ON CONFLICT DO NOTHING");
            q.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
}

/// Replaces every row of the search table by `rows` inside `tx`, and marks it built.
pub(crate) async fn replace_all(tx: &mut WriteTx, rows: &[SearchRow]) -> Result<(), Error> {
    on_tx!(tx, |conn, Db| {
        sqlx::query("DELETE FROM search")
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM search_pending")
            .execute(&mut *conn)
            .await?;
    });
    insert_rows(tx, rows).await
}

impl Index {
    /// Whether the search table still waits to be built from the whole log (an index made
    /// before it existed).
    pub(crate) async fn search_pending(&self) -> Result<bool, Error> {
        // count(*) is a 64-bit integer on both engines.
        let pending: i64 = on_pool!(self, read, |pool, Db| {
            sqlx::query_scalar("SELECT count(*) FROM search_pending")
                .fetch_one(pool)
                .await?
        });
        Ok(pending > 0)
    }

    /// Log indexes of entries stored under `key`, increasing, after `after`, at most
    /// `limit`. Hits may include a colliding entry: the caller checks each one.
    pub async fn search(
        &self,
        key: i64,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<u64>, Error> {
        let after = after.map_or(-1, as_i64);
        let found: Vec<i64> = on_pool!(self, read, |pool, Db| {
            let mut q = QueryBuilder::<Db>::new("SELECT log_index FROM search WHERE key = ");
            q.push_bind(key)
                .push(" AND log_index > ")
                .push_bind(after)
                .push(" ORDER BY log_index LIMIT ")
                .push_bind(i64::from(limit));
            q.build_query_scalar().fetch_all(pool).await?
        });
        Ok(found
            .into_iter()
            .filter_map(|i| u64::try_from(i).ok())
            .collect())
    }

    /// Every row under one of `keys` whose tag is one of `tags` (the deletions of what a
    /// page of hits published: few rows, one query).
    pub(crate) async fn tagged(&self, keys: &[i64], tags: &[i16]) -> Result<Vec<SearchRow>, Error> {
        if keys.is_empty() || tags.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<SearchRow> = on_pool!(self, read, |pool, Db| {
            let mut q =
                QueryBuilder::<Db>::new("SELECT key, log_index, tag FROM search WHERE key IN (");
            let mut list = q.separated(", ");
            for k in keys {
                list.push_bind(*k);
            }
            q.push(") AND tag IN (");
            let mut list = q.separated(", ");
            for t in tags {
                list.push_bind(*t);
            }
            q.push(")");
            q.build_query_as().fetch_all(pool).await?
        });
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_hash_depends_on_the_kind_and_the_value() {
        let a = key_hash(SearchKey::Digest, "ab");
        assert_eq!(a, key_hash(SearchKey::Digest, "ab"));
        assert_ne!(a, key_hash(SearchKey::Subject, "ab"));
        assert_ne!(a, key_hash(SearchKey::Digest, "ac"));
    }
}
