//! The `efi_images` and `efi_vars` tables: published Secure Boot files' rows as the
//! projection writes them, and the lookups (by file digest, by Authenticode digest).

use cairn_api::{EfiFile, EfiImageSummary, EfiVarsSummary};
use sqlx::{QueryBuilder, Row};

use super::{Index, WriteTx, as_i64};
use crate::digest::Digest;
use crate::error::Error;
use crate::log_entry::LogEntry;
use crate::model::time_of;

/// Columns of an image, in the order `image_from_row!` reads them.
const IMAGE_COLUMNS: &str = "digest, size, authenticode, signers, created_ns, log_index";
/// Columns of an update, in the order `vars_from_row!` reads them.
const VARS_COLUMNS: &str =
    "digest, size, variable, append_write, efi_time, list_digest, signer, created_ns, log_index";

fn log_index_of(i: Option<i64>) -> Option<u64> {
    i.and_then(|i| u64::try_from(i).ok())
}

macro_rules! image_from_row {
    ($row:expr) => {{
        let row = $row;
        let signers: String = row.try_get(3)?;
        Ok::<_, Error>(EfiImageSummary {
            digest: row.try_get(0)?,
            size: u64::try_from(row.try_get::<i64, _>(1)?).unwrap_or(0),
            authenticode: row.try_get(2)?,
            signers: serde_json::from_str(&signers)
                .map_err(|e| Error::Corrupt(format!("EFI image signers: {e}")))?,
            created_at: time_of(row.try_get(4)?),
            log_index: log_index_of(row.try_get(5)?),
        })
    }};
}

macro_rules! vars_from_row {
    ($row:expr) => {{
        let row = $row;
        Ok::<_, Error>(EfiVarsSummary {
            digest: row.try_get(0)?,
            size: u64::try_from(row.try_get::<i64, _>(1)?).unwrap_or(0),
            variable: row.try_get(2)?,
            append: row.try_get(3)?,
            time: row.try_get(4)?,
            list_digest: row.try_get(5)?,
            signer: row.try_get(6)?,
            created_at: time_of(row.try_get(7)?),
            log_index: log_index_of(row.try_get(8)?),
        })
    }};
}

/// Inserts the row of an `efi_image` or `efi_vars` entry logged at `at`; false when that
/// digest was recorded before (or the entry is of another kind).
pub(crate) async fn insert_row(tx: &mut WriteTx, entry: &LogEntry, at: u64) -> Result<bool, Error> {
    let at = Some(as_i64(at));
    let inserted = match entry {
        LogEntry::EfiImage {
            digest,
            size,
            authenticode,
            signers,
            created_ns,
        } => {
            check_digest(digest, at)?;
            let signers =
                serde_json::to_string(signers).map_err(|e| Error::Internal(e.to_string()))?;
            on_tx!(tx, |conn, Db| {
                QueryBuilder::<Db>::new(format!("INSERT INTO efi_images ({IMAGE_COLUMNS}) "))
                    .push_values([()], |mut b, ()| {
                        b.push_bind(digest.clone())
                            .push_bind(as_i64(*size))
                            .push_bind(authenticode.clone())
                            .push_bind(signers.clone())
                            .push_bind(*created_ns)
                            .push_bind(at);
                    })
                    .push(" ON CONFLICT (digest) DO NOTHING")
                    .build()
                    .execute(conn)
                    .await?
                    .rows_affected()
            })
        }
        LogEntry::EfiVars {
            digest,
            size,
            variable,
            append,
            time,
            list_digest,
            signer,
            created_ns,
        } => {
            check_digest(digest, at)?;
            on_tx!(tx, |conn, Db| {
                QueryBuilder::<Db>::new(format!("INSERT INTO efi_vars ({VARS_COLUMNS}) "))
                    .push_values([()], |mut b, ()| {
                        b.push_bind(digest.clone())
                            .push_bind(as_i64(*size))
                            .push_bind(variable.clone())
                            .push_bind(*append)
                            .push_bind(time.clone())
                            .push_bind(list_digest.clone())
                            .push_bind(signer.clone())
                            .push_bind(*created_ns)
                            .push_bind(at);
                    })
                    .push(" ON CONFLICT (digest) DO NOTHING")
                    .build()
                    .execute(conn)
                    .await?
                    .rows_affected()
            })
        }
        _ => 0,
    };
    Ok(inserted > 0)
}

/// A logged digest names a blob: one that is not a digest is an altered log.
fn check_digest(digest: &str, at: Option<i64>) -> Result<(), Error> {
    match Digest::parse(digest) {
        Some(_) => Ok(()),
        None => Err(Error::Corrupt(format!(
            "log entry {}: bad digest {digest:?}",
            at.unwrap_or_default()
        ))),
    }
}

impl Index {
    /// A published Secure Boot file (image or update) by the SHA-256 of its bytes.
    pub async fn efi_file(&self, digest: &Digest) -> Result<Option<EfiFile>, Error> {
        let hex = digest.to_hex();
        let image = on_pool!(self, read, |pool, Db| {
            let row = QueryBuilder::<Db>::new(format!(
                "SELECT {IMAGE_COLUMNS} FROM efi_images WHERE digest = "
            ))
            .push_bind(hex.clone())
            .build()
            .fetch_optional(pool)
            .await?;
            row.as_ref().map(|r| image_from_row!(r)).transpose()?
        });
        if let Some(image) = image {
            return Ok(Some(EfiFile::EfiImage(image)));
        }
        on_pool!(self, read, |pool, Db| {
            let row = QueryBuilder::<Db>::new(format!(
                "SELECT {VARS_COLUMNS} FROM efi_vars WHERE digest = "
            ))
            .push_bind(hex)
            .build()
            .fetch_optional(pool)
            .await?;
            Ok(row
                .as_ref()
                .map(|r| vars_from_row!(r))
                .transpose()?
                .map(EfiFile::EfiVars))
        })
    }

    /// Published images with this Authenticode digest, oldest first (several files can
    /// share one: signed by other keys, or signed twice).
    pub async fn efi_images(
        &self,
        authenticode: &str,
        limit: u32,
    ) -> Result<Vec<EfiImageSummary>, Error> {
        on_pool!(self, read, |pool, Db| {
            let rows = QueryBuilder::<Db>::new(format!(
                "SELECT {IMAGE_COLUMNS} FROM efi_images WHERE authenticode = "
            ))
            .push_bind(authenticode.to_owned())
            .push(" ORDER BY created_ns, digest LIMIT ")
            .push_bind(i64::from(limit))
            .build()
            .fetch_all(pool)
            .await?;
            rows.iter().map(|r| image_from_row!(r)).collect()
        })
    }
}
