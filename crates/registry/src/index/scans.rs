//! The `scans` table: a stored scan's row as the projection writes it, and the listings.

use sqlx::{QueryBuilder, Row};

use super::{Index, WriteTx, as_i64};
use crate::digest::Digest;
use crate::error::Error;
use crate::model::time_of;
use crate::scans::ScanSummary;
use cairn_api::ScanReport;

/// Columns of a scan, in the order `scan_from_row!` reads them.
const SCAN_COLUMNS: &str = "digest, host, roots, entries, errors, started, finished, size, \
     signature, key_id, created_ns, log_index";

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

/// Inserts a scan's row with the registry's report of it; false when that digest was
/// recorded before.
pub(crate) async fn insert_row(
    tx: &mut WriteTx,
    scan: &ScanSummary,
    created_ns: i64,
    report: Option<&ScanReport>,
) -> Result<bool, Error> {
    let roots = serde_json::to_string(&scan.roots).map_err(|e| Error::Internal(e.to_string()))?;
    let anomalies = report.map_or(0, ScanReport::anomalies);
    let report = report
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| Error::Internal(e.to_string()))?;
    let inserted = on_tx!(tx, |conn, Db| {
        QueryBuilder::<Db>::new(format!(
            "INSERT INTO scans ({SCAN_COLUMNS}, report, anomalies) "
        ))
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
                .push_bind(s.log_index.map(as_i64))
                .push_bind(report.clone())
                .push_bind(as_i64(anomalies));
        })
        .push(" ON CONFLICT (digest) DO NOTHING")
        .build()
        .execute(conn)
        .await?
        .rows_affected()
    });
    Ok(inserted > 0)
}

impl Index {
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

    /// A stored scan's report: `None` for an unknown scan, `Some(None)` for one stored
    /// before the registry analysed scans.
    pub async fn scan_report(&self, digest: &Digest) -> Result<Option<Option<ScanReport>>, Error> {
        let text: Option<Option<String>> = on_pool!(self, read, |pool, Db| {
            QueryBuilder::<Db>::new("SELECT report FROM scans WHERE digest = ")
                .push_bind(digest.to_hex())
                .build()
                .fetch_optional(pool)
                .await?
                .map(|row| row.try_get::<Option<String>, _>(0))
                .transpose()?
        });
        text.map(|t| {
            t.map(|t| serde_json::from_str(&t))
                .transpose()
                .map_err(|e| Error::Corrupt(format!("scan {digest}: report: {e}")))
        })
        .transpose()
    }

    /// The newest report of each host that has one, for the anomaly gauges at start-up.
    pub async fn latest_reports(&self) -> Result<Vec<(String, ScanReport)>, Error> {
        let rows: Vec<(String, String)> = on_pool!(self, read, |pool, Db| {
            let rows = QueryBuilder::<Db>::new(
                "SELECT s.host, s.report FROM scans s WHERE s.report IS NOT NULL AND \
                 s.created_ns = (SELECT MAX(t.created_ns) FROM scans t WHERE t.host = s.host) \
                 ORDER BY s.host",
            )
            .build()
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| Ok::<_, Error>((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<_, _>>()?
        });
        rows.into_iter()
            .map(|(host, text)| {
                serde_json::from_str(&text)
                    .map(|r| (host.clone(), r))
                    .map_err(|e| Error::Corrupt(format!("report of {host}: {e}")))
            })
            .collect()
    }
}
