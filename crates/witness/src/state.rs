//! What the witness cosigned last of each log, in SQLite: one row per origin, changed only
//! by a compare-and-swap on the size it was read at, committed (WAL, synchronous FULL)
//! before any cosignature is returned.

use std::path::Path;
use std::time::Duration;

use cairn_tlog::Hash;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

/// The database.
#[derive(Debug)]
pub(crate) struct State {
    pool: SqlitePool,
}

fn size_of(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl State {
    pub(crate) async fn open(path: &Path) -> Result<Self, sqlx::Error> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS cosigned (
                origin TEXT PRIMARY KEY NOT NULL,
                size INTEGER NOT NULL,
                root BLOB NOT NULL
            ) STRICT",
        )
        .execute(&pool)
        .await?;
        Ok(State { pool })
    }

    /// The size and root cosigned last, `None` before the first.
    pub(crate) async fn latest(&self, origin: &str) -> Result<Option<(u64, Hash)>, sqlx::Error> {
        let row = sqlx::query("SELECT size, root FROM cosigned WHERE origin = ?")
            .bind(origin)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.and_then(|r| {
            let size = u64::try_from(r.get::<i64, _>(0)).ok()?;
            let root = Hash::try_from(r.get::<Vec<u8>, _>(1).as_slice()).ok()?;
            Some((size, root))
        }))
    }

    /// Moves `origin` from `old` (`None`: never cosigned) to `size`/`root`; `false` when
    /// another request moved it first.
    pub(crate) async fn advance(
        &self,
        origin: &str,
        old: Option<u64>,
        size: u64,
        root: &Hash,
    ) -> Result<bool, sqlx::Error> {
        let done = match old {
            None => {
                sqlx::query(
                    "INSERT INTO cosigned (origin, size, root) VALUES (?, ?, ?)
                 ON CONFLICT (origin) DO NOTHING",
                )
                .bind(origin)
                .bind(size_of(size))
                .bind(root.as_slice())
                .execute(&self.pool)
                .await?
            }
            Some(old) => {
                sqlx::query("UPDATE cosigned SET size = ?, root = ? WHERE origin = ? AND size = ?")
                    .bind(size_of(size))
                    .bind(root.as_slice())
                    .bind(origin)
                    .bind(size_of(old))
                    .execute(&self.pool)
                    .await?
            }
        };
        Ok(done.rows_affected() == 1)
    }
}
