//! The `hosts` table: enrolled hosts, their keys, the hashes of their tokens and their
//! baselines, as the projection writes them from `host` and `baseline` entries.

use cairn_api::HostSummary;
use sqlx::{QueryBuilder, Row};

use super::{Index, WriteTx, as_i64};
use crate::error::Error;
use crate::model::time_of;

/// Columns of a host, in the order `host_from_row!` reads them.
const HOST_COLUMNS: &str = "name, key_pem, key_id, created_ns, log_index, baseline";

macro_rules! host_from_row {
    ($row:expr) => {{
        let row = $row;
        Ok::<_, Error>(HostSummary {
            name: row.try_get(0)?,
            key: row.try_get(1)?,
            key_id: row.try_get(2)?,
            created_at: time_of(row.try_get(3)?),
            log_index: row
                .try_get::<Option<i64>, _>(4)?
                .and_then(|i| u64::try_from(i).ok()),
            baseline: row.try_get(5)?,
        })
    }};
}

/// A `host` entry's row.
pub(crate) struct NewHostRow<'a> {
    pub name: &'a str,
    pub key: &'a str,
    pub key_id: &'a str,
    pub token_sha256: &'a str,
    pub created_ns: i64,
}

/// Inserts an enrolled host; false when that name (or token) was enrolled before.
pub(crate) async fn insert_row(
    tx: &mut WriteTx,
    h: &NewHostRow<'_>,
    at: u64,
) -> Result<bool, Error> {
    let inserted = on_tx!(tx, |conn, Db| {
        QueryBuilder::<Db>::new(
            "INSERT INTO hosts (name, key_pem, key_id, token_sha256, created_ns, log_index) ",
        )
        .push_values([h], |mut b, h| {
            b.push_bind(h.name.to_owned())
                .push_bind(h.key.to_owned())
                .push_bind(h.key_id.to_owned())
                .push_bind(h.token_sha256.to_owned())
                .push_bind(h.created_ns)
                .push_bind(as_i64(at));
        })
        .push(" ON CONFLICT DO NOTHING")
        .build()
        .execute(conn)
        .await?
        .rows_affected()
    });
    Ok(inserted > 0)
}

/// Sets a host's baseline; false when no such host is enrolled.
pub(crate) async fn set_baseline(
    tx: &mut WriteTx,
    host: &str,
    scan: &str,
    at: u64,
) -> Result<bool, Error> {
    let updated = on_tx!(tx, |conn, Db| {
        QueryBuilder::<Db>::new("UPDATE hosts SET baseline = ")
            .push_bind(scan.to_owned())
            .push(", baseline_log_index = ")
            .push_bind(as_i64(at))
            .push(" WHERE name = ")
            .push_bind(host.to_owned())
            .build()
            .execute(conn)
            .await?
            .rows_affected()
    });
    Ok(updated > 0)
}

impl Index {
    /// Every enrolled host, by name.
    pub async fn hosts(&self) -> Result<Vec<HostSummary>, Error> {
        on_pool!(self, read, |pool, Db| {
            let rows =
                QueryBuilder::<Db>::new(format!("SELECT {HOST_COLUMNS} FROM hosts ORDER BY name"))
                    .build()
                    .fetch_all(pool)
                    .await?;
            rows.iter().map(|r| host_from_row!(r)).collect()
        })
    }

    /// One enrolled host.
    pub async fn host(&self, name: &str) -> Result<Option<HostSummary>, Error> {
        self.host_where("name", name).await
    }

    /// The host whose token hashes to `token_sha256` (hex). The token is 32 random bytes,
    /// so looking its hash up in an index leaks nothing an attacker could use.
    pub async fn host_by_token(&self, token_sha256: &str) -> Result<Option<HostSummary>, Error> {
        self.host_where("token_sha256", token_sha256).await
    }

    async fn host_where(&self, column: &str, value: &str) -> Result<Option<HostSummary>, Error> {
        if value.contains('\0') {
            return Ok(None);
        }
        on_pool!(self, read, |pool, Db| {
            let row = QueryBuilder::<Db>::new(format!(
                "SELECT {HOST_COLUMNS} FROM hosts WHERE {column} = "
            ))
            .push_bind(value.to_owned())
            .build()
            .fetch_optional(pool)
            .await?;
            row.as_ref().map(|r| host_from_row!(r)).transpose()
        })
    }
}
