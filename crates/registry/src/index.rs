//! The index database: SQLite (embedded default) or PostgreSQL (scale-out) through sqlx,
//! with an index for every filter and the same queries on both.
//!
//! The index says what exists: a blob nobody indexed is invisible. With SQLite, reads and
//! writes use separate pools because SQLite has one writer; the write pool has a single
//! connection so writers queue in Rust instead of spinning on `SQLITE_BUSY`. Every query is
//! built with `QueryBuilder`, which writes each engine's placeholders (`?` or `$1`).

use std::path::Path;
use std::time::Duration;

use cairn_plugin::{Architecture, Descriptor, FileType, PluginKind};
use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, SqlitePool};

use crate::digest::Digest;
use crate::error::Error;
use crate::model::{FindQuery, NewArtifact, PluginMetadata, PluginSummary, PluginVariant, time_of};
use crate::scans::ScanSummary;

/// The index database.
#[derive(Clone, Debug)]
pub struct Index {
    backend: Backend,
}

#[derive(Clone, Debug)]
enum Backend {
    Sqlite { read: SqlitePool, write: SqlitePool },
    Postgres(PgPool),
}

/// Runs `$body` once per engine, with `$pool` the read or write pool and `$db` the sqlx
/// database type, so one query text serves both.
macro_rules! on_pool {
    ($index:expr, $kind:ident, |$pool:ident, $db:ident| $body:expr) => {
        match &$index.backend {
            Backend::Sqlite { read, write } => {
                let $pool = on_pool!(@pick $kind, read, write);
                #[allow(dead_code)]
                type $db = sqlx::Sqlite;
                $body
            }
            Backend::Postgres(pool) => {
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

/// What a logged entry changes in the index: applied in the transaction that sequences the
/// entry, so the index and the shared log never disagree, whatever crashes.
#[derive(Debug)]
pub enum Change<'a> {
    /// A publication (its `log_index` is set to the entry's index).
    Insert(&'a NewArtifact),
    /// A deletion.
    Remove(&'a Digest),
    /// A stored scan, with its upload time.
    Scan(&'a ScanSummary, i64),
    /// Nothing in the index (attestations).
    Nothing,
}

/// The PostgreSQL notification channel of entries sequenced into the shared log.
pub(crate) const LOG_SEQUENCED: &str = "cairn_log_sequenced";

/// The PostgreSQL notification channel of index changes.
const CHANGES: &str = "cairn_index_changed";

/// Inside a write transaction on PostgreSQL: tell the other instances at commit.
macro_rules! notify_change {
    ($index:expr, $tx:expr) => {
        if matches!($index.backend, Backend::Postgres(_)) {
            sqlx::query(&format!("NOTIFY {CHANGES}"))
                .execute(&mut *$tx)
                .await?;
        }
    };
}

/// Columns of a variant joined with its artifact, in the order `variant_from_row!` reads them.
const VARIANT_COLUMNS: &str = "v.digest, a.signature, a.created_ns, a.key_id, a.verified, \
     v.plugin_kind, v.export_name, v.file_type, v.architecture, v.plugin_version, v.name, \
     v.version, v.description, a.log_index";

/// Columns of a scan, in the order `scan_from_row!` reads them.
const SCAN_COLUMNS: &str = "digest, host, roots, entries, errors, started, finished, size, \
     signature, key_id, created_ns, log_index";

fn as_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

macro_rules! variant_from_row {
    ($row:expr) => {{
        let row = $row;
        let corrupt = |what: &str, value: &str| Error::Corrupt(format!("{what} {value:?}"));
        let kind: String = row.try_get(5)?;
        let file_type: String = row.try_get(7)?;
        let arch: String = row.try_get(8)?;
        let key_id: Option<String> = row.try_get(3)?;
        let log_index: Option<i64> = row.try_get(13)?;
        Ok::<_, Error>(PluginVariant {
            log_index: log_index.and_then(|i| u64::try_from(i).ok()),
            digest: row.try_get(0)?,
            signature: row.try_get(1)?,
            created_at: time_of(row.try_get(2)?),
            verified: row.try_get(4)?,
            key_id,
            descriptor: Descriptor {
                plugin_kind: PluginKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?,
                export_name: row.try_get(6)?,
                file_type: FileType::parse(&file_type)
                    .ok_or_else(|| corrupt("file type", &file_type))?,
                architecture: Architecture::from_key(&arch)
                    .ok_or_else(|| corrupt("arch", &arch))?,
                plugin_version: row.try_get(9)?,
                name: row.try_get(10)?,
                version: row.try_get(11)?,
                description: row.try_get(12)?,
            },
        })
    }};
}

macro_rules! scan_from_row {
    ($row:expr) => {{
        let row = $row;
        let roots: String = row.try_get(2)?;
        let count = |i: usize| -> Result<u64, Error> {
            Ok(u64::try_from(row.try_get::<i64, _>(i)?).unwrap_or(0))
        };
        Ok::<_, Error>(ScanSummary {
            digest: row.try_get(0)?,
            host: row.try_get(1)?,
            roots: serde_json::from_str(&roots)
                .map_err(|e| Error::Corrupt(format!("scan roots: {e}")))?,
            entries: count(3)?,
            errors: count(4)?,
            started: row.try_get(5)?,
            finished: row.try_get(6)?,
            size: count(7)?,
            signature: row.try_get(8)?,
            key_id: row.try_get(9)?,
            created_at: time_of(row.try_get(10)?),
            log_index: row
                .try_get::<Option<i64>, _>(11)?
                .and_then(|i| u64::try_from(i).ok()),
        })
    }};
}

/// Recomputes the `plugins` row of `name` from its remaining variants, inside `$tx`.
macro_rules! refresh_plugin {
    ($tx:expr, $db:ty, $name:expr) => {{
        let name: &str = $name;
        let description: Option<String> =
            QueryBuilder::<$db>::new("SELECT description FROM variants WHERE name = ")
                .push_bind(name)
                .push(" ORDER BY plugin_version DESC, created_ns DESC, id DESC LIMIT 1")
                .build_query_scalar()
                .fetch_optional(&mut *$tx)
                .await?;
        match description {
            Some(description) => {
                QueryBuilder::<$db>::new("INSERT INTO plugins (name, description) VALUES (")
                    .push_bind(name)
                    .push(", ")
                    .push_bind(description)
                    .push(") ON CONFLICT (name) DO UPDATE SET description = excluded.description")
                    .build()
                    .execute(&mut *$tx)
                    .await?;
            }
            None => {
                QueryBuilder::<$db>::new("DELETE FROM plugins WHERE name = ")
                    .push_bind(name)
                    .build()
                    .execute(&mut *$tx)
                    .await?;
            }
        }
    }};
}

/// Inserts an artifact's rows inside `$tx`; evaluates to false when the digest was
/// already indexed (nothing written).
macro_rules! insert_rows {
    ($tx:expr, $db:ty, $artifact:expr) => {{
        let artifact: &NewArtifact = $artifact;
        let digest = artifact.digest.to_hex();
        let inserted = QueryBuilder::<$db>::new(
            "INSERT INTO artifacts (digest, size, signature, key_id, verified, created_ns, \
                 log_index) ",
        )
        .push_values([artifact], |mut b, a| {
            b.push_bind(digest.clone())
                .push_bind(as_i64(a.size))
                .push_bind(a.signature.clone())
                .push_bind(a.key_id.clone())
                .push_bind(a.key_id.is_some())
                .push_bind(a.created_ns)
                .push_bind(a.log_index.map(as_i64));
        })
        .push(" ON CONFLICT (digest) DO NOTHING")
        .build()
        .execute(&mut *$tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            false
        } else {
            let rows = artifact.descriptors.iter().enumerate();
            QueryBuilder::<$db>::new(
                "INSERT INTO variants (digest, position, plugin_kind, export_name, file_type, \
                 architecture, plugin_version, name, version, description, created_ns) ",
            )
            .push_values(rows, |mut b, (position, d)| {
                b.push_bind(digest.clone())
                    .push_bind(position as i64)
                    .push_bind(d.plugin_kind.as_str())
                    .push_bind(d.export_name.clone())
                    .push_bind(d.file_type.as_str())
                    .push_bind(d.architecture.to_key())
                    .push_bind(d.plugin_version)
                    .push_bind(d.name.clone())
                    .push_bind(d.version.clone())
                    .push_bind(d.description.clone())
                    .push_bind(artifact.created_ns);
            })
            .build()
            .execute(&mut *$tx)
            .await?;
            for name in distinct_names(&artifact.descriptors) {
                refresh_plugin!($tx, $db, name);
            }
            true
        }
    }};
}

/// Removes an artifact's rows inside `$tx`; evaluates to whether it was indexed.
macro_rules! remove_rows {
    ($tx:expr, $db:ty, $digest:expr) => {{
        let digest: &Digest = $digest;
        let digest = digest.to_hex();
        let names: Vec<String> =
            QueryBuilder::<$db>::new("SELECT DISTINCT name FROM variants WHERE digest = ")
                .push_bind(digest.clone())
                .build_query_scalar()
                .fetch_all(&mut *$tx)
                .await?;
        QueryBuilder::<$db>::new("DELETE FROM variants WHERE digest = ")
            .push_bind(digest.clone())
            .build()
            .execute(&mut *$tx)
            .await?;
        let removed = QueryBuilder::<$db>::new("DELETE FROM artifacts WHERE digest = ")
            .push_bind(digest.clone())
            .build()
            .execute(&mut *$tx)
            .await?
            .rows_affected();
        for name in &names {
            refresh_plugin!($tx, $db, name);
        }
        removed > 0
    }};
}

/// Inserts a scan's row inside `$tx`; evaluates to false when it was recorded before.
macro_rules! scan_rows {
    ($tx:expr, $db:ty, $scan:expr, $created_ns:expr) => {{
        let scan: &ScanSummary = $scan;
        let created_ns: i64 = $created_ns;
        let roots =
            serde_json::to_string(&scan.roots).map_err(|e| Error::Internal(e.to_string()))?;
        QueryBuilder::<$db>::new(format!("INSERT INTO scans ({SCAN_COLUMNS}) "))
            .push_values([scan], |mut b, s| {
                b.push_bind(s.digest.clone())
                    .push_bind(s.host.clone())
                    .push_bind(roots.clone())
                    .push_bind(as_i64(s.entries))
                    .push_bind(as_i64(s.errors))
                    .push_bind(s.started.clone())
                    .push_bind(s.finished.clone())
                    .push_bind(as_i64(s.size))
                    .push_bind(s.signature.clone())
                    .push_bind(s.key_id.clone())
                    .push_bind(created_ns)
                    .push_bind(s.log_index.map(as_i64));
            })
            .push(" ON CONFLICT (digest) DO NOTHING")
            .build()
            .execute(&mut *$tx)
            .await?
            .rows_affected()
            > 0
    }};
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
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
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

    /// Sequences `entry` into the shared log (PostgreSQL) and applies `change` in the same
    /// transaction. Returns the entry's index, or `None` when the change did not apply (the
    /// artifact or scan already indexed, the artifact to delete absent): then nothing is
    /// logged.
    pub async fn sequence(&self, entry: &[u8], change: Change<'_>) -> Result<Option<u64>, Error> {
        type Db = sqlx::Postgres;
        let Some(pool) = self.postgres() else {
            return Err(Error::Internal(
                "the shared log needs the PostgreSQL index".into(),
            ));
        };
        let mut tx = pool.begin().await?;
        // The row lock orders sequencing transactions: indexes are handed out gap-free.
        let index: i64 = sqlx::query_scalar("SELECT next FROM log_seq WHERE id = 1 FOR UPDATE")
            .fetch_one(&mut *tx)
            .await?;
        let applied = match change {
            Change::Insert(artifact) => {
                let mut artifact = artifact.clone();
                artifact.log_index = u64::try_from(index).ok();
                insert_rows!(tx, Db, &artifact)
            }
            Change::Remove(digest) => remove_rows!(tx, Db, digest),
            Change::Scan(scan, created_ns) => {
                let mut scan = scan.clone();
                scan.log_index = u64::try_from(index).ok();
                scan_rows!(tx, Db, &scan, created_ns)
            }
            Change::Nothing => true,
        };
        if !applied {
            tx.rollback().await?;
            return Ok(None);
        }
        sqlx::query("INSERT INTO log_entries (idx, data) VALUES ($1, $2)")
            .bind(index)
            .bind(entry)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE log_seq SET next = next + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!("NOTIFY {LOG_SEQUENCED}"))
            .execute(&mut *tx)
            .await?;
        notify_change!(self, tx);
        tx.commit().await?;
        Ok(u64::try_from(index).ok())
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

    /// True when an artifact with this digest is indexed.
    pub async fn contains(&self, digest: &Digest) -> Result<bool, Error> {
        let found = on_pool!(self, read, |pool, Db| {
            QueryBuilder::<Db>::new("SELECT 1 FROM artifacts WHERE digest = ")
                .push_bind(digest.to_hex())
                .build()
                .fetch_optional(pool)
                .await?
                .is_some()
        });
        Ok(found)
    }

    /// Indexes a new artifact and its variants in one transaction.
    /// Returns false (and changes nothing) when the digest was already indexed.
    pub async fn insert(&self, artifact: &NewArtifact) -> Result<bool, Error> {
        on_pool!(self, write, |pool, Db| {
            let mut tx = pool.begin().await?;
            if !insert_rows!(tx, Db, artifact) {
                return Ok(false);
            }
            notify_change!(self, tx);
            tx.commit().await?;
        });
        Ok(true)
    }

    /// Removes an artifact and its variants. Returns false when it was not indexed.
    pub async fn remove(&self, digest: &Digest) -> Result<bool, Error> {
        let removed = on_pool!(self, write, |pool, Db| {
            let mut tx = pool.begin().await?;
            let removed = remove_rows!(tx, Db, digest);
            notify_change!(self, tx);
            tx.commit().await?;
            removed
        });
        Ok(removed)
    }

    /// Every plugin name with its description, sorted by name (byte order).
    pub async fn plugins(&self) -> Result<Vec<PluginSummary>, Error> {
        on_pool!(self, read, |pool, Db| {
            // COLLATE "C": byte order on PostgreSQL too, whatever the database's locale.
            let order = if matches!(self.backend, Backend::Postgres(_)) {
                " ORDER BY name COLLATE \"C\""
            } else {
                " ORDER BY name"
            };
            let rows = QueryBuilder::<Db>::new("SELECT name, description FROM plugins")
                .push(order)
                .build()
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(PluginSummary {
                        name: r.try_get(0)?,
                        description: r.try_get(1)?,
                    })
                })
                .collect()
        })
    }

    /// Variants of `name` matching `query`, ABI descending then newest first; `skip` and
    /// `limit` apply after filtering.
    pub async fn find(&self, name: &str, query: &FindQuery) -> Result<Vec<PluginVariant>, Error> {
        // No stored name or version holds a NUL (they come from C strings), and PostgreSQL
        // text cannot even carry one: such a query matches nothing.
        if name.contains('\0') || query.version.as_deref().is_some_and(|v| v.contains('\0')) {
            return Ok(Vec::new());
        }
        on_pool!(self, read, |pool, Db| {
            let mut sql = QueryBuilder::<Db>::new(format!(
                "SELECT {VARIANT_COLUMNS} FROM variants v JOIN artifacts a ON a.digest = v.digest \
                 WHERE v.name = "
            ));
            sql.push_bind(name.to_owned());
            if let Some(version) = &query.version {
                sql.push(" AND (v.version = ").push_bind(version.clone());
                // A version that could be a digest prefix also matches by digest.
                if version.len() <= 64 && version.bytes().all(|b| b.is_ascii_hexdigit()) {
                    sql.push(" OR substr(v.digest, 1, ")
                        .push_bind(version.len() as i32)
                        .push(") = ")
                        .push_bind(version.clone());
                }
                sql.push(")");
            }
            if let Some(abi) = query.memflow_plugin_version {
                sql.push(" AND v.plugin_version = ").push_bind(abi);
            }
            if let Some(file_type) = query.file_type {
                sql.push(" AND v.file_type = ")
                    .push_bind(file_type.as_str());
            }
            if let Some(arch) = query.architecture {
                sql.push(" AND v.architecture = ").push_bind(arch.to_key());
            }
            if let Some(digest) = &query.digest {
                sql.push(" AND v.digest = ").push_bind(digest.to_hex());
            }
            if let Some(prefix) = &query.digest_short {
                sql.push(" AND substr(v.digest, 1, ")
                    .push_bind(prefix.as_str().len() as i32)
                    .push(") = ")
                    .push_bind(prefix.as_str().to_owned());
            }
            sql.push(" ORDER BY v.plugin_version DESC, v.created_ns DESC, v.id DESC LIMIT ")
                .push_bind(i64::from(query.limit))
                .push(" OFFSET ")
                .push_bind(i64::from(query.skip));
            let rows = sql.build().fetch_all(pool).await?;
            rows.iter().map(|r| variant_from_row!(r)).collect()
        })
    }

    /// The artifact's metadata with every descriptor, if indexed.
    pub async fn metadata(&self, digest: &Digest) -> Result<Option<PluginMetadata>, Error> {
        on_pool!(self, read, |pool, Db| {
            let rows = QueryBuilder::<Db>::new(format!(
                "SELECT {VARIANT_COLUMNS}, a.size FROM artifacts a \
                 JOIN variants v ON v.digest = a.digest WHERE a.digest = "
            ))
            .push_bind(digest.to_hex())
            .push(" ORDER BY v.position")
            .build()
            .fetch_all(pool)
            .await?;
            let Some(first) = rows.first() else {
                return Ok(None);
            };
            let head = variant_from_row!(first)?;
            let size: i64 = first.try_get(14)?;
            let descriptors = rows
                .iter()
                .map(|r| variant_from_row!(r).map(|v| v.descriptor))
                .collect::<Result<_, _>>()?;
            Ok(Some(PluginMetadata {
                digest: head.digest,
                signature: head.signature,
                created_at: head.created_at,
                descriptors,
                size: u64::try_from(size).unwrap_or(0),
                key_id: head.key_id,
                verified: head.verified,
                log_index: head.log_index,
            }))
        })
    }

    /// Size of an indexed artifact, if indexed.
    pub async fn size(&self, digest: &Digest) -> Result<Option<u64>, Error> {
        let size: Option<i64> = on_pool!(self, read, |pool, Db| {
            QueryBuilder::<Db>::new("SELECT size FROM artifacts WHERE digest = ")
                .push_bind(digest.to_hex())
                .build_query_scalar()
                .fetch_optional(pool)
                .await?
        });
        Ok(size.map(|s| u64::try_from(s).unwrap_or(0)))
    }

    /// The highest log index an indexed artifact or scan was published at (embedded logs:
    /// compared with the log's size at start; `log_index` is indexed for it).
    pub async fn highest_log_index(&self) -> Result<Option<u64>, Error> {
        let highest: Option<i64> = on_pool!(self, read, |pool, Db| {
            sqlx::query_scalar(
                "SELECT MAX(m) FROM (SELECT MAX(log_index) AS m FROM artifacts \
                 UNION ALL SELECT MAX(log_index) AS m FROM scans) AS highest",
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

    /// Records a stored scan; false when that digest was recorded before.
    pub async fn insert_scan(&self, scan: &ScanSummary, created_ns: i64) -> Result<bool, Error> {
        let inserted = on_pool!(self, write, |pool, Db| {
            let mut tx = pool.begin().await?;
            let inserted = scan_rows!(tx, Db, scan, created_ns);
            tx.commit().await?;
            inserted
        });
        Ok(inserted)
    }

    /// Every digest whose blob the index references: artifacts and scans, sorted.
    pub async fn stored_digests(&self) -> Result<Vec<Digest>, Error> {
        let hex: Vec<String> = on_pool!(self, read, |pool, Db| {
            sqlx::query_scalar(
                "SELECT digest FROM artifacts UNION SELECT digest FROM scans ORDER BY 1",
            )
            .fetch_all(pool)
            .await?
        });
        hex.iter()
            .map(|h| Digest::parse(h).ok_or_else(|| Error::Corrupt(format!("digest {h:?}"))))
            .collect()
    }

    /// Scans of a host (all hosts when `None`), newest first.
    pub async fn scans(&self, host: Option<&str>, limit: u32) -> Result<Vec<ScanSummary>, Error> {
        if host.is_some_and(|h| h.contains('\0')) {
            return Ok(Vec::new());
        }
        on_pool!(self, read, |pool, Db| {
            let mut sql = QueryBuilder::<Db>::new(format!("SELECT {SCAN_COLUMNS} FROM scans"));
            if let Some(host) = host {
                sql.push(" WHERE host = ").push_bind(host.to_owned());
            }
            sql.push(" ORDER BY created_ns DESC, digest LIMIT ")
                .push_bind(i64::from(limit));
            let rows = sql.build().fetch_all(pool).await?;
            rows.iter().map(|r| scan_from_row!(r)).collect()
        })
    }

    /// One stored scan's summary.
    pub async fn scan(&self, digest: &Digest) -> Result<Option<ScanSummary>, Error> {
        on_pool!(self, read, |pool, Db| {
            let row = QueryBuilder::<Db>::new(format!(
                "SELECT {SCAN_COLUMNS} FROM scans WHERE digest = "
            ))
            .push_bind(digest.to_hex())
            .build()
            .fetch_optional(pool)
            .await?;
            row.as_ref().map(|r| scan_from_row!(r)).transpose()
        })
    }
}

fn distinct_names(descriptors: &[Descriptor]) -> Vec<&str> {
    let mut names: Vec<&str> = descriptors.iter().map(|d| d.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names
}
