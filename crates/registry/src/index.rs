//! The index database: SQLite through sqlx, with an index for every filter.
//!
//! The index says what exists: a blob nobody indexed is invisible. Reads and writes use
//! separate pools because SQLite has one writer; the write pool has a single connection so
//! writers queue in Rust instead of spinning on `SQLITE_BUSY`.

use std::path::Path;
use std::time::Duration;

use cairn_plugin::{Architecture, Descriptor, FileType, PluginKind};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};

use crate::digest::Digest;
use crate::error::Error;
use crate::model::{FindQuery, NewArtifact, PluginMetadata, PluginSummary, PluginVariant, time_of};
use crate::scans::ScanSummary;

/// The index database.
#[derive(Clone, Debug)]
pub struct Index {
    read: SqlitePool,
    write: SqlitePool,
}

/// Columns of a variant joined with its artifact, in the order `variant_from_row` reads them.
const VARIANT_COLUMNS: &str = "v.digest, a.signature, a.created_ns, a.key_id, a.verified, \
     v.plugin_kind, v.export_name, v.file_type, v.architecture, v.plugin_version, v.name, \
     v.version, v.description, a.log_index";

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
        Ok(Index { read, write })
    }

    /// Cheap liveness check: one trivial query, no table scan.
    pub async fn ping(&self) -> Result<(), Error> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    /// True when an artifact with this digest is indexed.
    pub async fn contains(&self, digest: &Digest) -> Result<bool, Error> {
        let row = sqlx::query("SELECT 1 FROM artifacts WHERE digest = ?")
            .bind(digest.to_hex())
            .fetch_optional(&self.read)
            .await?;
        Ok(row.is_some())
    }

    /// Indexes a new artifact and its variants in one transaction.
    /// Returns false (and changes nothing) when the digest was already indexed.
    pub async fn insert(&self, artifact: &NewArtifact) -> Result<bool, Error> {
        let mut tx = self.write.begin().await?;
        let digest = artifact.digest.to_hex();
        let inserted = sqlx::query(
            "INSERT INTO artifacts (digest, size, signature, key_id, verified, created_ns, log_index) \
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING",
        )
        .bind(&digest)
        .bind(i64::try_from(artifact.size).unwrap_or(i64::MAX))
        .bind(&artifact.signature)
        .bind(&artifact.key_id)
        .bind(artifact.key_id.is_some())
        .bind(artifact.created_ns)
        .bind(artifact.log_index.map(|i| i as i64))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(false);
        }
        for (position, d) in artifact.descriptors.iter().enumerate() {
            sqlx::query(
                "INSERT INTO variants (digest, position, plugin_kind, export_name, file_type, \
                 architecture, plugin_version, name, version, description, created_ns) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&digest)
            .bind(position as i64)
            .bind(d.plugin_kind.as_str())
            .bind(&d.export_name)
            .bind(d.file_type.as_str())
            .bind(d.architecture.to_key())
            .bind(d.plugin_version)
            .bind(&d.name)
            .bind(&d.version)
            .bind(&d.description)
            .bind(artifact.created_ns)
            .execute(&mut *tx)
            .await?;
        }
        for name in distinct_names(&artifact.descriptors) {
            refresh_plugin(&mut tx, name).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Removes an artifact and its variants. Returns false when it was not indexed.
    pub async fn remove(&self, digest: &Digest) -> Result<bool, Error> {
        let mut tx = self.write.begin().await?;
        let digest = digest.to_hex();
        let names: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT name FROM variants WHERE digest = ?")
                .bind(&digest)
                .fetch_all(&mut *tx)
                .await?;
        sqlx::query("DELETE FROM variants WHERE digest = ?")
            .bind(&digest)
            .execute(&mut *tx)
            .await?;
        let removed = sqlx::query("DELETE FROM artifacts WHERE digest = ?")
            .bind(&digest)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        for name in &names {
            refresh_plugin(&mut tx, name).await?;
        }
        tx.commit().await?;
        Ok(removed > 0)
    }

    /// Every plugin name with its description, sorted by name (byte order).
    pub async fn plugins(&self) -> Result<Vec<PluginSummary>, Error> {
        let rows = sqlx::query("SELECT name, description FROM plugins ORDER BY name")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(PluginSummary {
                    name: r.try_get(0)?,
                    description: r.try_get(1)?,
                })
            })
            .collect()
    }

    /// Variants of `name` matching `query`, ABI descending then newest first; `skip` and
    /// `limit` apply after filtering.
    pub async fn find(&self, name: &str, query: &FindQuery) -> Result<Vec<PluginVariant>, Error> {
        let mut sql = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {VARIANT_COLUMNS} FROM variants v JOIN artifacts a ON a.digest = v.digest \
             WHERE v.name = "
        ));
        sql.push_bind(name);
        if let Some(version) = &query.version {
            sql.push(" AND (v.version = ").push_bind(version.clone());
            // A version that could be a digest prefix also matches by digest.
            if version.len() <= 64 && version.bytes().all(|b| b.is_ascii_hexdigit()) {
                sql.push(" OR substr(v.digest, 1, ")
                    .push_bind(version.len() as i64)
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
                .push_bind(prefix.as_str().len() as i64)
                .push(") = ")
                .push_bind(prefix.as_str().to_owned());
        }
        sql.push(" ORDER BY v.plugin_version DESC, v.created_ns DESC, v.id DESC LIMIT ")
            .push_bind(i64::from(query.limit))
            .push(" OFFSET ")
            .push_bind(i64::from(query.skip));
        let rows = sql.build().fetch_all(&self.read).await?;
        rows.iter().map(variant_from_row).collect()
    }

    /// The artifact's metadata with every descriptor, if indexed.
    pub async fn metadata(&self, digest: &Digest) -> Result<Option<PluginMetadata>, Error> {
        let sql = format!(
            "SELECT {VARIANT_COLUMNS}, a.size FROM artifacts a \
             JOIN variants v ON v.digest = a.digest WHERE a.digest = ? ORDER BY v.position"
        );
        let rows = sqlx::query(&sql)
            .bind(digest.to_hex())
            .fetch_all(&self.read)
            .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let head = variant_from_row(first)?;
        let size: i64 = first.try_get(14)?;
        let descriptors = rows
            .iter()
            .map(|r| variant_from_row(r).map(|v| v.descriptor))
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
    }

    /// Size of an indexed artifact, if indexed.
    pub async fn size(&self, digest: &Digest) -> Result<Option<u64>, Error> {
        let size: Option<i64> = sqlx::query_scalar("SELECT size FROM artifacts WHERE digest = ?")
            .bind(digest.to_hex())
            .fetch_optional(&self.read)
            .await?;
        Ok(size.map(|s| u64::try_from(s).unwrap_or(0)))
    }
}

impl Index {
    /// Log entries below this index are reflected in the index.
    pub async fn log_applied(&self) -> Result<u64, Error> {
        let applied: i64 = sqlx::query_scalar("SELECT applied FROM log_state WHERE id = 1")
            .fetch_one(&self.read)
            .await?;
        Ok(u64::try_from(applied).unwrap_or(0))
    }

    /// Records that every log entry below `applied` is reflected (never moves backwards).
    pub async fn set_log_applied(&self, applied: u64) -> Result<(), Error> {
        sqlx::query("UPDATE log_state SET applied = MAX(applied, ?) WHERE id = 1")
            .bind(i64::try_from(applied).unwrap_or(i64::MAX))
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Records a stored scan; false when that digest was recorded before.
    pub async fn insert_scan(&self, scan: &ScanSummary, created_ns: i64) -> Result<bool, Error> {
        let roots =
            serde_json::to_string(&scan.roots).map_err(|e| Error::Internal(e.to_string()))?;
        let inserted = sqlx::query(
            "INSERT INTO scans (digest, host, roots, entries, errors, started, finished, size, \
             signature, key_id, created_ns, log_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (digest) DO NOTHING",
        )
        .bind(&scan.digest)
        .bind(&scan.host)
        .bind(roots)
        .bind(i64::try_from(scan.entries).unwrap_or(i64::MAX))
        .bind(i64::try_from(scan.errors).unwrap_or(i64::MAX))
        .bind(&scan.started)
        .bind(&scan.finished)
        .bind(i64::try_from(scan.size).unwrap_or(i64::MAX))
        .bind(&scan.signature)
        .bind(&scan.key_id)
        .bind(created_ns)
        .bind(scan.log_index.map(|i| i as i64))
        .execute(&self.write)
        .await?
        .rows_affected();
        Ok(inserted > 0)
    }

    /// Scans of a host (all hosts when `None`), newest first.
    pub async fn scans(&self, host: Option<&str>, limit: u32) -> Result<Vec<ScanSummary>, Error> {
        let mut sql = QueryBuilder::<Sqlite>::new(
            "SELECT digest, host, roots, entries, errors, started, finished, size, signature, \
             key_id, created_ns, log_index FROM scans",
        );
        if let Some(host) = host {
            sql.push(" WHERE host = ").push_bind(host.to_owned());
        }
        sql.push(" ORDER BY created_ns DESC, digest LIMIT ")
            .push_bind(i64::from(limit));
        let rows = sql.build().fetch_all(&self.read).await?;
        rows.iter().map(scan_from_row).collect()
    }

    /// One stored scan's summary.
    pub async fn scan(&self, digest: &Digest) -> Result<Option<ScanSummary>, Error> {
        let row = sqlx::query(
            "SELECT digest, host, roots, entries, errors, started, finished, size, signature, \
             key_id, created_ns, log_index FROM scans WHERE digest = ?",
        )
        .bind(digest.to_hex())
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(scan_from_row).transpose()
    }
}

fn scan_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<ScanSummary, Error> {
    let roots: String = row.try_get(2)?;
    let count = |i: usize| -> Result<u64, Error> {
        Ok(u64::try_from(row.try_get::<i64, _>(i)?).unwrap_or(0))
    };
    Ok(ScanSummary {
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
}

/// Recomputes the `plugins` row of `name` from its remaining variants.
async fn refresh_plugin(tx: &mut sqlx::Transaction<'_, Sqlite>, name: &str) -> Result<(), Error> {
    let description: Option<String> = sqlx::query_scalar(
        "SELECT description FROM variants WHERE name = ? \
         ORDER BY plugin_version DESC, created_ns DESC, id DESC LIMIT 1",
    )
    .bind(name)
    .fetch_optional(&mut **tx)
    .await?;
    match description {
        Some(description) => {
            sqlx::query(
                "INSERT INTO plugins (name, description) VALUES (?, ?) \
                 ON CONFLICT (name) DO UPDATE SET description = excluded.description",
            )
            .bind(name)
            .bind(description)
            .execute(&mut **tx)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM plugins WHERE name = ?")
                .bind(name)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

fn distinct_names(descriptors: &[Descriptor]) -> Vec<&str> {
    let mut names: Vec<&str> = descriptors.iter().map(|d| d.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names
}

fn variant_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<PluginVariant, Error> {
    let corrupt = |what: &str, value: &str| Error::Corrupt(format!("{what} {value:?}"));
    let kind: String = row.try_get(5)?;
    let file_type: String = row.try_get(7)?;
    let arch: String = row.try_get(8)?;
    let key_id: Option<String> = row.try_get(3)?;
    let log_index: Option<i64> = row.try_get(13)?;
    Ok(PluginVariant {
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
            architecture: Architecture::from_key(&arch).ok_or_else(|| corrupt("arch", &arch))?,
            plugin_version: row.try_get(9)?,
            name: row.try_get(10)?,
            version: row.try_get(11)?,
            description: row.try_get(12)?,
        },
    })
}
