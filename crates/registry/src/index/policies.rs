//! The `policies` table: every trust policy a registry operator published, by version, as
//! the projection writes it from `policy` entries.

use cairn_api::{LogEntry, PolicySummary};
use sqlx::{QueryBuilder, Row};

use super::{Index, WriteTx, as_i64};
use crate::error::Error;
use crate::model::time_of;

/// Inserts the row of `policy` entry `at`; false when that version is already indexed.
pub(crate) async fn insert_row(tx: &mut WriteTx, entry: &LogEntry, at: u64) -> Result<bool, Error> {
    let LogEntry::Policy {
        version,
        digest,
        text,
        roots,
        created_ns,
    } = entry
    else {
        return Err(Error::Internal("a policy row of another entry".into()));
    };
    let roots = serde_json::to_string(roots).map_err(|e| Error::Internal(e.to_string()))?;
    let inserted = on_tx!(tx, |conn, Db| {
        let mut q = QueryBuilder::<Db>::new(
            "INSERT INTO policies (version, digest, text, roots, created_ns, log_index) VALUES (",
        );
        q.push_bind(as_i64(*version))
            .push(", ")
            .push_bind(digest.as_str())
            .push(", ")
            .push_bind(text.as_str())
            .push(", ")
            .push_bind(roots.as_str())
            .push(", ")
            .push_bind(*created_ns)
            .push(", ")
            .push_bind(as_i64(at))
            .push(") ON CONFLICT DO NOTHING");
        q.build().execute(&mut *conn).await?.rows_affected()
    });
    Ok(inserted > 0)
}

macro_rules! policy_from_row {
    ($row:expr) => {{
        let row = $row;
        let roots: String = row.try_get(3)?;
        PolicySummary {
            version: u64::try_from(row.try_get::<i64, _>(0)?).unwrap_or(0),
            digest: row.try_get(1)?,
            roots: serde_json::from_str(&roots)
                .map_err(|e| Error::Corrupt(format!("policy roots: {e}")))?,
            created_at: time_of(row.try_get(4)?),
            log_index: u64::try_from(row.try_get::<i64, _>(5)?).unwrap_or(0),
        }
    }};
}

impl Index {
    /// Every published policy, newest version first.
    pub async fn policies(&self) -> Result<Vec<PolicySummary>, Error> {
        let sql = "SELECT version, digest, text, roots, created_ns, log_index FROM policies \
                   ORDER BY version DESC";
        on_pool!(self, read, |pool, Db| {
            let rows = sqlx::query(sql).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                out.push(policy_from_row!(row));
            }
            Ok(out)
        })
    }

    /// A published policy's summary and text: `version`, or the newest when `None`.
    pub async fn policy(
        &self,
        version: Option<u64>,
    ) -> Result<Option<(PolicySummary, String)>, Error> {
        on_pool!(self, read, |pool, Db| {
            let mut q = QueryBuilder::<Db>::new(
                "SELECT version, digest, text, roots, created_ns, log_index FROM policies ",
            );
            match version {
                Some(v) => {
                    q.push("WHERE version = ").push_bind(as_i64(v));
                }
                None => {
                    q.push("ORDER BY version DESC LIMIT 1");
                }
            }
            let row = q.build().fetch_optional(pool).await?;
            match row {
                Some(row) => {
                    let text: String = row.try_get(2)?;
                    Ok(Some((policy_from_row!(&row), text)))
                }
                None => Ok(None),
            }
        })
    }
}
