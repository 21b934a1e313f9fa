//! Every projected row, in order: what "the index the write path built equals the index
//! rebuilt from the log" compares.

use sqlx::Row;

use super::Index;
use crate::error::Error;

/// The projected tables and, in each, the key that orders them.
const TABLES: [(&str, &str); 10] = [
    ("artifacts", "digest"),
    ("variants", "id"),
    ("plugins", "name"),
    ("scans", "digest"),
    ("efi_images", "digest"),
    ("efi_vars", "digest"),
    ("hosts", "name"),
    ("packages", "name, version"),
    ("search", "key, log_index"),
    ("policies", "version"),
];

/// The contents of the index's projected tables: per table, every row as text
/// (`column=value` joined by `|`), ordered by the table's key (variants by id, which is
/// their listing tie-break order). The log watermark is not projected and not included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// `(table, rows)` for artifacts, variants, plugins, scans, efi_images, efi_vars, hosts,
    /// packages, search and policies.
    pub tables: Vec<(String, Vec<String>)>,
}

impl Index {
    /// Reads a [`Snapshot`] of the projected tables (a full read: for checks and tests).
    pub async fn snapshot(&self) -> Result<Snapshot, Error> {
        let mut tables = Vec::new();
        for (table, key) in TABLES {
            let columns = self.columns(table).await?;
            let select = columns
                .iter()
                .map(|c| format!("COALESCE(CAST({c} AS TEXT), 'NULL')"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!("SELECT {select} FROM {table} ORDER BY {key}");
            let rows: Vec<String> = on_pool!(self, read, |pool, Db| {
                let rows = sqlx::query(&sql).fetch_all(pool).await?;
                rows.iter()
                    .map(|r| {
                        (0..columns.len())
                            .map(|i| Ok(format!("{}={}", columns[i], r.try_get::<String, _>(i)?)))
                            .collect::<Result<Vec<_>, Error>>()
                            .map(|cells| cells.join("|"))
                    })
                    .collect::<Result<_, Error>>()?
            });
            tables.push((table.to_owned(), rows));
        }
        Ok(Snapshot { tables })
    }

    /// A table's column names, in definition order.
    async fn columns(&self, table: &str) -> Result<Vec<String>, Error> {
        let names = on_pool!(self, read, |pool, Db| match self.postgres() {
            Some(_) => {
                sqlx::query_scalar(
                    "SELECT column_name::text FROM information_schema.columns \
                     WHERE table_name = $1 AND table_schema = current_schema() \
                     ORDER BY ordinal_position",
                )
                .bind(table)
                .fetch_all(pool)
                .await?
            }
            None => {
                sqlx::query_scalar("SELECT name FROM pragma_table_info(?) ORDER BY cid")
                    .bind(table)
                    .fetch_all(pool)
                    .await?
            }
        });
        Ok(names)
    }
}
