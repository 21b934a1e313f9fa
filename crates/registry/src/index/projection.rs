//! The index as a projection of the log: [`apply`] is the one place a log entry becomes
//! rows. The write path, the shared log's sequencing transaction, start-up replay, reindex
//! and migrate all call it, so the index the write path builds and the one rebuilt from the
//! log are the same by construction.

use super::{
    Index, WriteTx, artifact_runs, artifacts, efi, hosts, packages, policies, scans, search,
};
use crate::digest::Digest;
use crate::error::Error;
use crate::log_entry::{EntryCodec as _, LogEntry};

/// Applies log entry `at` to the index inside `tx`: its rows, and its search rows (an entry
/// in the log is found whether or not it changed anything else). Returns false when it
/// changed nothing else (the artifact, scan or EFI file already indexed, the artifact to
/// delete absent), true otherwise; an attestation changes no other row and counts as
/// applied.
pub(crate) async fn apply(tx: &mut WriteTx, entry: &LogEntry, at: u64) -> Result<bool, Error> {
    let applied = apply_rows(tx, entry, at).await?;
    search::insert_rows(tx, &search::rows_of(entry, at)).await?;
    Ok(applied)
}

/// Applies a run of logged entries (`(index, entry)`, in log order) inside `tx`, their
/// search rows in few statements: what replay and reindex use.
pub(crate) async fn apply_all(tx: &mut WriteTx, entries: &[(u64, LogEntry)]) -> Result<(), Error> {
    let mut rows = Vec::new();
    // Consecutive artifacts go in together (`artifact_runs`): the same rows, fewer statements.
    let mut run = Vec::new();
    for (at, entry) in entries {
        match entry.to_artifact(*at)? {
            Some(artifact) => run.push(artifact),
            None => {
                artifact_runs::insert_run(tx, &std::mem::take(&mut run)).await?;
                apply_rows(tx, entry, *at).await?;
            }
        }
        rows.extend(search::rows_of(entry, *at));
    }
    artifact_runs::insert_run(tx, &run).await?;
    search::insert_rows(tx, &rows).await
}

async fn apply_rows(tx: &mut WriteTx, entry: &LogEntry, at: u64) -> Result<bool, Error> {
    match entry {
        LogEntry::Artifact { .. } => match entry.to_artifact(at)? {
            Some(artifact) => artifacts::insert_rows(tx, &artifact).await,
            None => Ok(false),
        },
        LogEntry::Delete { digest, .. } => {
            let digest = Digest::parse(digest)
                .ok_or_else(|| Error::Corrupt(format!("log entry {at}: bad digest {digest:?}")))?;
            artifacts::remove_rows(tx, &digest).await
        }
        LogEntry::Scan {
            scan,
            created_ns,
            report,
        } => {
            let mut scan = scan.clone();
            scan.log_index = Some(at);
            scans::insert_row(tx, &scan, *created_ns, report.as_ref()).await
        }
        LogEntry::Host {
            name,
            key,
            key_id,
            token_sha256,
            created_ns,
        } => {
            let row = hosts::NewHostRow {
                name,
                key,
                key_id,
                token_sha256,
                created_ns: *created_ns,
            };
            hosts::insert_row(tx, &row, at).await
        }
        LogEntry::Baseline { host, scan, .. } => hosts::set_baseline(tx, host, scan, at).await,
        LogEntry::EfiImage { .. } | LogEntry::EfiVars { .. } => {
            efi::insert_row(tx, entry, at).await
        }
        LogEntry::Package { .. } | LogEntry::PackageDelete { .. } => {
            packages::apply(tx, entry, at).await
        }
        LogEntry::Policy { .. } => policies::insert_row(tx, entry, at).await,
        LogEntry::Attestation { .. } => Ok(true),
    }
}

/// Empties every projected table inside `tx`, so a reindex applies the log to nothing
/// (variant ids restart too: the rebuilt rows are the write path's, id for id).
pub(crate) async fn clear(tx: &mut WriteTx) -> Result<(), Error> {
    on_tx!(tx, |conn, Db| {
        for table in [
            "variants",
            "artifacts",
            "plugins",
            "scans",
            "efi_images",
            "efi_vars",
            "hosts",
            "packages",
            "search",
            "policies",
        ] {
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&mut *conn)
                .await?;
        }
    });
    if let WriteTx::Postgres(tx) = tx {
        sqlx::query("ALTER SEQUENCE variants_id_seq RESTART WITH 1")
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

impl Index {
    /// Applies log entry `at` in a transaction of its own (see [`apply`]). Its search rows
    /// are committed even when nothing else changed: the entry is in the log.
    pub async fn apply(&self, entry: &LogEntry, at: u64) -> Result<bool, Error> {
        let mut tx = self.begin().await?;
        let applied = apply(&mut tx, entry, at).await?;
        tx.commit().await?;
        Ok(applied)
    }

    /// Applies a run of logged entries in one transaction (see [`apply_all`]).
    pub async fn apply_batch(&self, entries: &[(u64, LogEntry)]) -> Result<(), Error> {
        let mut tx = self.begin().await?;
        apply_all(&mut tx, entries).await?;
        tx.commit().await
    }
}
