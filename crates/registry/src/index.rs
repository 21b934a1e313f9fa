//! The index database: SQLite (embedded default) or PostgreSQL (scale-out) through sqlx,
//! with an index for every filter and the same queries on both.
//!
//! The index says what exists: a blob nobody indexed is invisible. It is a projection of
//! the transparency log: every change goes through [`projection::apply`], one log entry at
//! a time, whoever writes it (the write path, the shared log, replay, reindex, migrate).
//!
//! With SQLite, reads and writes use separate pools because SQLite has one writer; the write
//! pool has a single connection so writers queue in Rust instead of spinning on
//! `SQLITE_BUSY`. Every query is built with `QueryBuilder`, which writes each engine's
//! placeholders (`?` or `$1`). One file per table family, as the migrations group them:
//! [`artifacts`] (artifacts, variants, plugins), [`scans`], [`hosts`], [`efi`] (efi_images, efi_vars),
//! [`log_state`].

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqlitePool, Transaction};

use crate::digest::Digest;
use crate::error::Error;

/// Runs `$body` once per engine, with `$pool` the read or write pool and `$db` the sqlx
/// database type, so one query text serves both.
macro_rules! on_pool {
    ($index:expr, $kind:ident, |$pool:ident, $db:ident| $body:expr) => {
        match &$index.backend {
            $crate::index::Backend::Sqlite { read, write } => {
                let $pool = on_pool!(@pick $kind, read, write);
                #[allow(dead_code)]
                type $db = sqlx::Sqlite;
                $body
            }
            $crate::index::Backend::Postgres(pool) => {
                let $pool = pool;
                #[allow(dead_code)]
                type $db = sqlx::Postgres;
                $body
            }
        }
    };
    (@pick read, $r:ident, $w:ident) => {{
        let _ = $w;
        $r
    }};
    (@pick write, $r:ident, $w:ident) => {{
        let _ = $r;
        $w
    }};
}

/// Runs `$body` inside a [`WriteTx`], with `$conn` its connection and `$db` the sqlx
/// database type, so one statement text serves both engines.
macro_rules! on_tx {
    ($tx:expr, |$conn:ident, $db:ident| $body:expr) => {
        match &mut *$tx {
            $crate::index::WriteTx::Sqlite(tx) => {
                let $conn = &mut **tx;
                #[allow(dead_code)]
                type $db = sqlx::Sqlite;
                $body
            }
            $crate::index::WriteTx::Postgres(tx) => {
                let $conn = &mut **tx;
                #[allow(dead_code)]
                type $db = sqlx::Postgres;
                $body
            }
        }
    };
}

mod artifact_runs;
pub(crate) mod artifacts;
pub(crate) mod efi;
pub(crate) mod hosts;
pub(crate) mod log_state;
pub(crate) mod overview;
pub(crate) mod packages;
pub(crate) mod policies;
pub(crate) mod projection;
pub(crate) mod scans;
pub(crate) mod search;
mod snapshot;

pub use snapshot::Snapshot;

/// The index database.
#[derive(Clone, Debug)]
pub struct Index {
    backend: Backend,
}

#[derive(Clone, Debug)]
pub(crate) enum Backend {
    Sqlite { read: SqlitePool, write: SqlitePool },
    Postgres(PgPool),
}

/// A write transaction on either engine. Dropped without [`WriteTx::commit`], it rolls
/// back.
#[derive(Debug)]
pub(crate) enum WriteTx {
    Sqlite(Transaction<'static, sqlx::Sqlite>),
    Postgres(Transaction<'static, sqlx::Postgres>),
}

impl WriteTx {
    /// Commits; on PostgreSQL the other instances are told at commit, so their caches go.
    pub(crate) async fn commit(self) -> Result<(), Error> {
        match self {
            WriteTx::Sqlite(tx) => tx.commit().await?,
            WriteTx::Postgres(mut tx) => {
                sqlx::query(&format!("NOTIFY {CHANGES}"))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }
}

/// The write connection's page cache (SQLite's `cache_size`: negative is KiB): 64 MiB.
const WRITE_CACHE: &str = "-65536";

/// The PostgreSQL notification channel of index changes.
const CHANGES: &str = "cairn_index_changed";

/// A count or index as the databases store it (BIGINT / INTEGER).
pub(crate) fn as_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Index {
    /// Opens (creating if missing) the SQLite index at `path` and applies migrations.
    pub async fn open_sqlite(path: &Path) -> Result<Self, Error> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit that returned survives power loss, not only a process crash.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // SQLite's default page cache is 2 MiB: an index of a million entries is hundreds
        // of MiB, and every insert lands at a random place in several B-trees (digests,
        // search keys), so a reindex would read pages back from the OS at every step.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone().pragma("cache_size", WRITE_CACHE))
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Index {
            backend: Backend::Sqlite { read, write },
        })
    }

    /// Connects to PostgreSQL (`postgres://…`) and applies its migrations. Several
    /// instances may share the database: migrations take PostgreSQL's advisory lock.
    pub async fn open_postgres(url: &str) -> Result<Self, Error> {
        // Server-side keepalives: when an instance's machine vanishes without closing its
        // sessions, PostgreSQL drops them (and the locks they hold, the log leader's among
        // them) within about 15 s instead of the kernel's two hours.
        let options = PgConnectOptions::from_str(url)?.options([
            ("tcp_keepalives_idle", "5"),
            ("tcp_keepalives_interval", "2"),
            ("tcp_keepalives_count", "4"),
        ]);
        let pool = PgPoolOptions::new()
            .max_connections(24)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Index {
            backend: Backend::Postgres(pool),
        })
    }

    /// Begins a write transaction (SQLite: on the single write connection).
    pub(crate) async fn begin(&self) -> Result<WriteTx, Error> {
        Ok(match &self.backend {
            Backend::Sqlite { write, .. } => WriteTx::Sqlite(write.begin().await?),
            Backend::Postgres(pool) => WriteTx::Postgres(pool.begin().await?),
        })
    }

    /// Calls `on_change` whenever another connection commits a change to the index
    /// (PostgreSQL LISTEN/NOTIFY; every write transaction notifies). SQLite has one writer,
    /// this process, so there is nothing to watch.
    pub fn watch(&self, on_change: impl Fn() + Send + 'static) -> Result<(), Error> {
        let Backend::Postgres(pool) = &self.backend else {
            return Ok(());
        };
        let pool = pool.clone();
        tokio::spawn(async move {
            loop {
                let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::warn!(error = %e, "index change listener: cannot connect");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                if let Err(e) = listener.listen(CHANGES).await {
                    tracing::warn!(error = %e, "index change listener: LISTEN failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                // Changes may have been missed while (re)connecting.
                on_change();
                loop {
                    match listener.try_recv().await {
                        Ok(Some(_)) => on_change(),
                        // The connection dropped: changes may be lost, so assume one.
                        Ok(None) => on_change(),
                        Err(e) => {
                            tracing::warn!(error = %e, "index change listener failed");
                            break;
                        }
                    }
                }
            }
        });
        Ok(())
    }

    /// The PostgreSQL pool, when the index is there (the shared log lives beside it).
    pub(crate) fn postgres(&self) -> Option<&PgPool> {
        match &self.backend {
            Backend::Postgres(pool) => Some(pool),
            Backend::Sqlite { .. } => None,
        }
    }

    /// Which engine: `sqlite` or `postgres`.
    pub fn engine(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite { .. } => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Cheap liveness check: one trivial query, no table scan.
    pub async fn ping(&self) -> Result<(), Error> {
        on_pool!(self, read, |pool, Db| {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// Every digest whose blob the index references: artifacts, scans and EFI files,
    /// sorted.
    pub async fn stored_digests(&self) -> Result<Vec<Digest>, Error> {
        let hex: Vec<String> = on_pool!(self, read, |pool, Db| {
            sqlx::query_scalar(
                "SELECT digest FROM artifacts UNION SELECT digest FROM scans \
                 UNION SELECT digest FROM efi_images UNION SELECT digest FROM efi_vars \
                 UNION SELECT digest FROM packages ORDER BY 1",
            )
            .fetch_all(pool)
            .await?
        });
        hex.iter()
            .map(|h| Digest::parse(h).ok_or_else(|| Error::Corrupt(format!("digest {h:?}"))))
            .collect()
    }
}
