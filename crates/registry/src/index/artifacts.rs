//! The artifact tables (`artifacts`, `variants`, `plugins`): their rows as the projection
//! writes them, and the queries the plugin API answers from them.

use cairn_plugin::{Architecture, Descriptor, FileType, PluginKind};
use sqlx::{QueryBuilder, Row};

use super::{Index, WriteTx, as_i64};
use crate::digest::Digest;
use crate::error::Error;
use crate::model::{FindQuery, NewArtifact, PluginMetadata, PluginSummary, PluginVariant, time_of};

/// Columns of a variant joined with its artifact, in the order `variant_from_row!` reads them.
const VARIANT_COLUMNS: &str = "v.digest, a.signature, a.created_ns, a.key_id, a.verified, \
     v.plugin_kind, v.export_name, v.file_type, v.architecture, v.plugin_version, v.name, \
     v.version, v.description, a.log_index";

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

/// Inserts an artifact's rows; false when the digest was already indexed (nothing written).
pub(crate) async fn insert_rows(tx: &mut WriteTx, artifact: &NewArtifact) -> Result<bool, Error> {
    let digest = artifact.digest.to_hex();
    let inserted = on_tx!(tx, |conn, Db| {
        QueryBuilder::<Db>::new(
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
        .execute(conn)
        .await?
        .rows_affected()
    });
    if inserted == 0 {
        return Ok(false);
    }
    on_tx!(tx, |conn, Db| {
        QueryBuilder::<Db>::new(
            "INSERT INTO variants (digest, position, plugin_kind, export_name, file_type, \
             architecture, plugin_version, name, version, description, created_ns) ",
        )
        .push_values(
            artifact.descriptors.iter().enumerate(),
            |mut b, (position, d)| {
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
            },
        )
        .build()
        .execute(conn)
        .await?;
    });
    for name in distinct_names(&artifact.descriptors) {
        refresh_plugin(tx, name).await?;
    }
    Ok(true)
}

/// Removes an artifact's rows; false when it was not indexed.
pub(crate) async fn remove_rows(tx: &mut WriteTx, digest: &Digest) -> Result<bool, Error> {
    let digest = digest.to_hex();
    let (names, removed): (Vec<String>, u64) = on_tx!(tx, |conn, Db| {
        let names = QueryBuilder::<Db>::new("SELECT DISTINCT name FROM variants WHERE digest = ")
            .push_bind(digest.clone())
            .build_query_scalar()
            .fetch_all(&mut *conn)
            .await?;
        QueryBuilder::<Db>::new("DELETE FROM variants WHERE digest = ")
            .push_bind(digest.clone())
            .build()
            .execute(&mut *conn)
            .await?;
        let removed = QueryBuilder::<Db>::new("DELETE FROM artifacts WHERE digest = ")
            .push_bind(digest.clone())
            .build()
            .execute(&mut *conn)
            .await?
            .rows_affected();
        (names, removed)
    });
    for name in &names {
        refresh_plugin(tx, name).await?;
    }
    Ok(removed > 0)
}

/// Recomputes the `plugins` row of `name` from its remaining variants.
async fn refresh_plugin(tx: &mut WriteTx, name: &str) -> Result<(), Error> {
    on_tx!(tx, |conn, Db| {
        let description: Option<String> =
            QueryBuilder::<Db>::new("SELECT description FROM variants WHERE name = ")
                .push_bind(name)
                .push(" ORDER BY plugin_version DESC, created_ns DESC, id DESC LIMIT 1")
                .build_query_scalar()
                .fetch_optional(&mut *conn)
                .await?;
        let mut sql = match description {
            Some(description) => {
                let mut sql =
                    QueryBuilder::<Db>::new("INSERT INTO plugins (name, description) VALUES (");
                sql.push_bind(name)
                    .push(", ")
                    .push_bind(description)
                    .push(") ON CONFLICT (name) DO UPDATE SET description = excluded.description");
                sql
            }
            None => {
                let mut sql = QueryBuilder::<Db>::new("DELETE FROM plugins WHERE name = ");
                sql.push_bind(name);
                sql
            }
        };
        sql.build().execute(&mut *conn).await?;
    });
    Ok(())
}

fn distinct_names(descriptors: &[Descriptor]) -> Vec<&str> {
    let mut names: Vec<&str> = descriptors.iter().map(|d| d.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names
}

impl Index {
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

    /// Every plugin name with its description, sorted by name (byte order).
    pub async fn plugins(&self) -> Result<Vec<PluginSummary>, Error> {
        // COLLATE "C": byte order on PostgreSQL too, whatever the database's locale.
        let order = match self.postgres() {
            Some(_) => " ORDER BY name COLLATE \"C\"",
            None => " ORDER BY name",
        };
        on_pool!(self, read, |pool, Db| {
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
            if let Some(key_id) = &query.key_id {
                sql.push(" AND a.key_id = ").push_bind(key_id.clone());
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
}
