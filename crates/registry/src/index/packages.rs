//! The `packages` table: one row per published name and version, as the projection writes
//! it from `package` and `package_delete` entries, and the listings answered from it.

use cairn_api::PackageSummary;
use sqlx::{QueryBuilder, Row};

use super::{Index, WriteTx, as_i64};
use crate::digest::Digest;
use crate::error::Error;
use crate::log_entry::LogEntry;
use crate::model::time_of;

/// Columns of a package, in the order `package_from_row!` reads them.
const COLUMNS: &str =
    "name, version, file, media_type, digest, size, signatures, created_ns, log_index";

/// What a listing asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PackageQuery {
    /// Only this name.
    pub name: Option<String>,
    /// Only this exact version.
    pub version: Option<String>,
    /// Matching packages to pass over first.
    pub skip: u32,
    /// Most packages returned (already clamped).
    pub limit: u32,
}

impl PackageQuery {
    /// Every package (for checks: `cairn admin verify`).
    pub fn all() -> Self {
        PackageQuery {
            limit: u32::MAX,
            ..PackageQuery::default()
        }
    }
}

macro_rules! package_from_row {
    ($row:expr) => {{
        let row = $row;
        let signatures: String = row.try_get(6)?;
        let log_index: Option<i64> = row.try_get(8)?;
        let entry = LogEntry::Package {
            name: row.try_get(0)?,
            version: row.try_get(1)?,
            file: row.try_get(2)?,
            media_type: row.try_get(3)?,
            digest: row.try_get(4)?,
            size: u64::try_from(row.try_get::<i64, _>(5)?).unwrap_or(0),
            signatures: serde_json::from_str(&signatures)
                .map_err(|e| Error::Corrupt(format!("package signatures: {e}")))?,
            created_ns: row.try_get(7)?,
        };
        summary_of(entry, log_index.and_then(|i| u64::try_from(i).ok()))
    }};
}

/// A `package` entry (logged at `log_index`) as listed, with the paths its file and first
/// signature are served under.
pub(crate) fn summary_of(entry: LogEntry, log_index: Option<u64>) -> Result<PackageSummary, Error> {
    let LogEntry::Package {
        name,
        version,
        file,
        media_type,
        digest,
        size,
        signatures,
        created_ns,
    } = entry
    else {
        return Err(Error::Internal("a package listing of another entry".into()));
    };
    let first = signatures
        .first()
        .ok_or_else(|| Error::Corrupt(format!("package {name} {version} has no signature")))?;
    Ok(PackageSummary {
        signature: first.signature.clone(),
        signature_path: PackageSummary::path_of(&name, &version, &file, first.kind.suffix()),
        download: PackageSummary::path_of(&name, &version, &file, ""),
        key_id: first.key_id.clone(),
        created_at: time_of(created_ns),
        signatures,
        name,
        version,
        file,
        media_type,
        digest,
        size,
        log_index,
    })
}

/// A key under which versions sort by semver precedence, as text: numbers zero-padded,
/// a release after its pre-releases, numeric pre-release identifiers before alphanumeric
/// ones (SemVer 2.0.0, section 11), identifiers joined by `,`, which sorts below every
/// character an identifier holds (so `a.b` precedes `a-b`, as `a` precedes `a-b`).
pub(crate) fn version_key(version: &semver::Version) -> String {
    let mut key = format!(
        "{:020}.{:020}.{:020}",
        version.major, version.minor, version.patch
    );
    if version.pre.is_empty() {
        // '~' sorts after every character a pre-release can hold.
        key.push('~');
        return key;
    }
    key.push('-');
    let parts: Vec<String> = version
        .pre
        .split('.')
        .map(|p| match p.parse::<u64>() {
            Ok(n) => format!("0{n:020}"),
            Err(_) => format!("1{p}"),
        })
        .collect();
    key.push_str(&parts.join(","));
    key
}

/// Inserts the row of a `package` entry logged at `at`, or removes the row a
/// `package_delete` entry names. False when nothing changed (that name and version already
/// published, or already gone).
pub(crate) async fn apply(tx: &mut WriteTx, entry: &LogEntry, at: u64) -> Result<bool, Error> {
    let changed = match entry {
        LogEntry::Package {
            name,
            version,
            file,
            media_type,
            digest,
            size,
            signatures,
            created_ns,
        } => {
            let corrupt = |what: &str| Error::Corrupt(format!("log entry {at}: {what}"));
            Digest::parse(digest).ok_or_else(|| corrupt("bad digest"))?;
            let parsed = semver::Version::parse(version).map_err(|_| corrupt("bad version"))?;
            let signatures =
                serde_json::to_string(signatures).map_err(|e| Error::Internal(e.to_string()))?;
            on_tx!(tx, |conn, Db| {
                QueryBuilder::<Db>::new(format!("INSERT INTO packages (version_key, {COLUMNS}) "))
                    .push_values([()], |mut b, ()| {
                        b.push_bind(version_key(&parsed))
                            .push_bind(name.clone())
                            .push_bind(version.clone())
                            .push_bind(file.clone())
                            .push_bind(media_type.clone())
                            .push_bind(digest.clone())
                            .push_bind(as_i64(*size))
                            .push_bind(signatures.clone())
                            .push_bind(*created_ns)
                            .push_bind(Some(as_i64(at)));
                    })
                    .push(" ON CONFLICT (name, version) DO NOTHING")
                    .build()
                    .execute(conn)
                    .await?
                    .rows_affected()
            })
        }
        LogEntry::PackageDelete { name, version, .. } => on_tx!(tx, |conn, Db| {
            QueryBuilder::<Db>::new("DELETE FROM packages WHERE name = ")
                .push_bind(name.clone())
                .push(" AND version = ")
                .push_bind(version.clone())
                .build()
                .execute(conn)
                .await?
                .rows_affected()
        }),
        _ => 0,
    };
    Ok(changed > 0)
}

impl Index {
    /// One published package.
    pub async fn package(
        &self,
        name: &str,
        version: &str,
    ) -> Result<Option<PackageSummary>, Error> {
        on_pool!(self, read, |pool, Db| {
            let row =
                QueryBuilder::<Db>::new(format!("SELECT {COLUMNS} FROM packages WHERE name = "))
                    .push_bind(name.to_owned())
                    .push(" AND version = ")
                    .push_bind(version.to_owned())
                    .build()
                    .fetch_optional(pool)
                    .await?;
            row.as_ref().map(|r| package_from_row!(r)).transpose()
        })
    }

    /// Packages matching `query`, by name (byte order), then newest version first.
    pub async fn packages(&self, query: &PackageQuery) -> Result<Vec<PackageSummary>, Error> {
        on_pool!(self, read, |pool, Db| {
            let mut sql = QueryBuilder::<Db>::new(format!("SELECT {COLUMNS} FROM packages"));
            let mut glue = " WHERE ";
            if let Some(name) = &query.name {
                sql.push(glue).push("name = ").push_bind(name.clone());
                glue = " AND ";
            }
            if let Some(version) = &query.version {
                sql.push(glue).push("version = ").push_bind(version.clone());
            }
            // Build metadata (`1.0.0+a`, `1.0.0+b`) shares a key: the version breaks the tie.
            sql.push(" ORDER BY name, version_key DESC, version DESC LIMIT ")
                .push_bind(i64::from(query.limit))
                .push(" OFFSET ")
                .push_bind(i64::from(query.skip));
            let rows = sql.build().fetch_all(pool).await?;
            rows.iter().map(|r| package_from_row!(r)).collect()
        })
    }

    /// Whether any published package is of the bytes `digest`.
    pub async fn package_holds(&self, digest: &Digest) -> Result<bool, Error> {
        on_pool!(self, read, |pool, Db| {
            Ok(
                QueryBuilder::<Db>::new("SELECT 1 FROM packages WHERE digest = ")
                    .push_bind(digest.to_hex())
                    .push(" LIMIT 1")
                    .build()
                    .fetch_optional(pool)
                    .await?
                    .is_some(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_keys_sort_as_semver_precedence() {
        let ordered = [
            "0.9.0",
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-alpha-beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.2.0",
            "1.10.0",
            "10.0.0",
        ];
        let keys: Vec<String> = ordered
            .iter()
            .map(|v| version_key(&semver::Version::parse(v).unwrap()))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }
}
