//! Signed filesystem scans: checked, stored and logged.

use super::Registry;
use super::journal::Logged;
use super::publish::now_ns;
use crate::digest::Digest;
use crate::error::Error;
use crate::log_entry::LogEntry;
use crate::model::{UploadOutcome, time_of};
use crate::scans::ScanSummary;
use crate::staging::Staged;

impl Registry {
    /// Checks and stores a signed scan file: its trailer must verify (nothing truncated or
    /// edited) and its signature must verify like an artifact's.
    pub async fn publish_scan(
        &self,
        staged: Staged,
        signature: &str,
    ) -> Result<(UploadOutcome, ScanSummary), Error> {
        let digest = staged.digest();
        self.metrics.upload_bytes.inc_by(staged.size());
        let check = self.keys.check(signature, digest.as_bytes())?;
        self.writable().await?;
        let path = staged.path().to_path_buf();
        let manifest = tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(path)?;
            Ok::<_, Error>(cairn_scan::Manifest::read(std::io::BufReader::new(file))?)
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
        let created_ns = now_ns();
        let summary = ScanSummary {
            digest: digest.to_hex(),
            host: manifest.header.host,
            roots: manifest.header.roots,
            entries: manifest.trailer.entries,
            errors: manifest.trailer.errors,
            started: manifest.header.started,
            finished: manifest.header.finished,
            size: staged.size(),
            signature: check.normalized,
            key_id: check.key_id,
            created_at: time_of(created_ns),
            log_index: None,
        };
        let recorded = {
            let _guard = self.lock(&digest).await?;
            if let Some(existing) = self.index.scan(&digest).await? {
                return Ok((UploadOutcome::AlreadyExists, existing));
            }
            self.blobs.commit(staged).await?;
            let entry = LogEntry::Scan {
                scan: summary.clone(),
                created_ns,
            };
            self.record(Logged::new(entry, "the entry is too large")?)
                .await?
        };
        match recorded {
            Some(recorded) => {
                let appended = self.published(recorded).await?;
                let mut summary = summary;
                summary.log_index = Some(appended.index);
                tracing::info!(digest = %digest, host = %summary.host, "scan added");
                Ok((UploadOutcome::Added, summary))
            }
            None => {
                let existing = self.index.scan(&digest).await?.unwrap_or(summary);
                Ok((UploadOutcome::AlreadyExists, existing))
            }
        }
    }

    /// Stored scans, newest first, of one host or of all.
    pub async fn scans(&self, host: Option<&str>, limit: u32) -> Result<Vec<ScanSummary>, Error> {
        self.index.scans(host, limit).await
    }

    /// A stored scan's summary.
    pub async fn scan(&self, digest: &Digest) -> Result<Option<ScanSummary>, Error> {
        self.index.scan(digest).await
    }
}
