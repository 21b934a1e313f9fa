//! The log's tables beside the index: how far the index reflects the log (`log_state`), and
//! on PostgreSQL the shared log's sequence (`log_seq`, `log_entries`).

use sqlx::QueryBuilder;
use sqlx::postgres::PgConnection;

use super::{Index, WriteTx, as_i64, projection};
use crate::error::Error;
use crate::log_entry::LogEntry;

/// The PostgreSQL notification channel of entries sequenced into the shared log.
pub(crate) const LOG_SEQUENCED: &str = "cairn_log_sequenced";

/// The PostgreSQL connection of a write transaction, for the shared log's own tables.
fn shared(tx: &mut WriteTx) -> Result<&mut PgConnection, Error> {
    match tx {
        WriteTx::Postgres(tx) => Ok(&mut **tx),
        WriteTx::Sqlite(_) => Err(Error::Internal(
            "the shared log needs the PostgreSQL index".into(),
        )),
    }
}

/// Locks the shared log's sequence for the rest of `tx` and returns the next index: the row
/// lock orders sequencing transactions, so indexes are handed out gap-free.
pub(crate) async fn lock_sequence(tx: &mut WriteTx) -> Result<u64, Error> {
    let next: i64 = sqlx::query_scalar("SELECT next FROM log_seq WHERE id = 1 FOR UPDATE")
        .fetch_one(&mut *shared(tx)?)
        .await?;
    u64::try_from(next).map_err(|_| Error::Corrupt(format!("log sequence at {next}")))
}

impl Index {
    /// Sequences `entry` (its canonical `bytes`) into the shared log and applies it to the
    /// index in the same PostgreSQL transaction. Returns the entry's index, or `None` when
    /// it changed nothing (the artifact or scan already indexed, the artifact to delete
    /// absent): then nothing is logged.
    pub async fn sequence(&self, entry: &LogEntry, bytes: &[u8]) -> Result<Option<u64>, Error> {
        let mut tx = self.begin().await?;
        let index = lock_sequence(&mut tx).await?;
        if !projection::apply(&mut tx, entry, index).await? {
            return Ok(None);
        }
        let conn = shared(&mut tx)?;
        sqlx::query("INSERT INTO log_entries (idx, data) VALUES ($1, $2)")
            .bind(as_i64(index))
            .bind(bytes)
            .execute(&mut *conn)
            .await?;
        sqlx::query("UPDATE log_seq SET next = next + 1 WHERE id = 1")
            .execute(&mut *conn)
            .await?;
        sqlx::query(&format!("NOTIFY {LOG_SEQUENCED}"))
            .execute(&mut *conn)
            .await?;
        tx.commit().await?;
        Ok(Some(index))
    }

    /// The highest log index an indexed artifact, scan or EFI file was published at (embedded logs:
    /// compared with the log's size at start; `log_index` is indexed for it).
    pub async fn highest_log_index(&self) -> Result<Option<u64>, Error> {
        let highest: Option<i64> = on_pool!(self, read, |pool, Db| {
            sqlx::query_scalar(
                "SELECT MAX(m) FROM (SELECT MAX(log_index) AS m FROM artifacts \
                 UNION ALL SELECT MAX(log_index) AS m FROM scans \
                 UNION ALL SELECT MAX(log_index) AS m FROM efi_images \
                 UNION ALL SELECT MAX(log_index) AS m FROM efi_vars) AS highest",
            )
            .fetch_one(pool)
            .await?
        });
        Ok(highest.and_then(|h| u64::try_from(h).ok()))
    }

    /// Log entries below this index are reflected in the index.
    pub async fn log_applied(&self) -> Result<u64, Error> {
        let applied: i64 = on_pool!(self, read, |pool, Db| {
            sqlx::query_scalar("SELECT applied FROM log_state WHERE id = 1")
                .fetch_one(pool)
                .await?
        });
        Ok(u64::try_from(applied).unwrap_or(0))
    }

    /// Records that every log entry below `applied` is reflected (never moves backwards).
    pub async fn set_log_applied(&self, applied: u64) -> Result<(), Error> {
        on_pool!(self, write, |pool, Db| {
            QueryBuilder::<Db>::new("UPDATE log_state SET applied = ")
                .push_bind(as_i64(applied))
                .push(" WHERE id = 1 AND applied < ")
                .push_bind(as_i64(applied))
                .build()
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
