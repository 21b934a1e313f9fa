//! Signed filesystem scans: checked, analysed, stored and logged.

use std::io::Write as _;
use std::sync::Arc;

use cairn_api::{HostSummary, ScanReport};
use cairn_scan::Manifest;
use futures::StreamExt as _;

use super::Registry;
use super::journal::Logged;
use super::publish::now_ns;
use super::report;
use crate::digest::Digest;
use crate::error::Error;
use crate::log_entry::LogEntry;
use crate::model::{UploadOutcome, time_of};
use crate::scans::ScanSummary;
use crate::staging::Staged;

/// Who submits a scan: the registry's write token, or an enrolled host's own token.
#[derive(Clone, Debug)]
pub enum Submitter {
    /// The global write token: a scan of an enrolled host must still verify under that
    /// host's key; any other scan under the registry's trusted keys.
    Admin,
    /// A host's token: only scans of that host, verifying under its key.
    Host(HostSummary),
}

impl Registry {
    /// Checks, analyses and stores a signed scan file: its trailer must verify (nothing
    /// truncated or edited) and its signature must verify under the host's key (an enrolled
    /// host) or the registry's trusted keys. The report (against the host's baseline and its
    /// previous scan) goes into the scan's log entry.
    pub async fn publish_scan(
        &self,
        staged: Staged,
        signature: &str,
        submitter: Submitter,
    ) -> Result<(UploadOutcome, ScanSummary), Error> {
        let digest = staged.digest();
        self.metrics.upload_bytes.inc_by(staged.size());
        let manifest = Arc::new(read_manifest(staged.path().to_path_buf()).await?);
        let host = manifest.header.host.clone();
        let enrolled = match submitter {
            Submitter::Host(h) if h.name != host => {
                return Err(Error::WrongHost {
                    token: h.name,
                    scan: host,
                });
            }
            Submitter::Host(h) => Some(h),
            Submitter::Admin => self.index.host(&host).await?,
        };
        let check = match &enrolled {
            Some(h) => {
                let mut keys = cairn_sign::TrustedKeys::default();
                let wrong = |e: cairn_sign::Error| Error::HostKey {
                    host: host.clone(),
                    why: e.to_string(),
                };
                keys.add_pem(&h.key, "the host key").map_err(wrong)?;
                keys.check(signature, digest.as_bytes()).map_err(wrong)?
            }
            None => {
                self.refuse_unverifiable()?;
                self.keys.check(signature, digest.as_bytes())?
            }
        };
        self.writable().await?;
        if let Some(existing) = self.index.scan(&digest).await? {
            return Ok((UploadOutcome::AlreadyExists, existing));
        }
        let report = self.analyse(&manifest, enrolled.as_ref()).await?;
        let created_ns = now_ns();
        let summary = ScanSummary {
            digest: digest.to_hex(),
            host: host.clone(),
            roots: manifest.header.roots.clone(),
            entries: manifest.trailer.entries,
            errors: manifest.trailer.errors,
            started: manifest.header.started.clone(),
            finished: manifest.header.finished.clone(),
            size: staged.size(),
            signature: check.normalized,
            key_id: check.key_id,
            created_at: time_of(created_ns),
            log_index: None,
        };
        drop(manifest);
        let (logged, report) = fitted(&summary, created_ns, report)?;
        let recorded = {
            let _guard = self.lock(&digest).await?;
            if let Some(existing) = self.index.scan(&digest).await? {
                return Ok((UploadOutcome::AlreadyExists, existing));
            }
            self.blobs.commit(staged).await?;
            self.record(logged).await?
        };
        match recorded {
            Some(recorded) => {
                let appended = self.published(recorded).await?;
                let mut summary = summary;
                summary.log_index = Some(appended.index);
                if let Some(report) = &report {
                    self.metrics.record_report(&host, report);
                }
                tracing::info!(
                    digest = %digest,
                    host = %summary.host,
                    anomalies = report.as_ref().map_or(0, ScanReport::anomalies),
                    "scan added"
                );
                Ok((UploadOutcome::Added, summary))
            }
            None => {
                let existing = self.index.scan(&digest).await?.unwrap_or(summary);
                Ok((UploadOutcome::AlreadyExists, existing))
            }
        }
    }

    /// Compares an arriving scan with its host's baseline (enrolled hosts) and previous scan.
    async fn analyse(
        &self,
        new: &Arc<Manifest>,
        enrolled: Option<&HostSummary>,
    ) -> Result<Option<ScanReport>, Error> {
        let host = &new.header.host;
        let baseline = enrolled
            .and_then(|h| h.baseline.as_deref())
            .and_then(Digest::parse);
        let previous = self
            .index
            .scans(Some(host), 1)
            .await?
            .into_iter()
            .next()
            .and_then(|s| Digest::parse(&s.digest));
        let mut report = ScanReport {
            baseline: None,
            previous: None,
        };
        if let Some(b) = baseline {
            report.baseline = self.compare_with(&b, new).await?;
        }
        if let Some(p) = previous {
            report.previous = self.compare_with(&p, new).await?;
        }
        Ok(Some(report))
    }

    async fn compare_with(
        &self,
        old: &Digest,
        new: &Arc<Manifest>,
    ) -> Result<Option<cairn_api::Comparison>, Error> {
        let Some(old_manifest) = self.stored_manifest(old).await? else {
            tracing::warn!(scan = %old, "a scan to compare with is indexed but its blob is gone");
            return Ok(None);
        };
        let (new, against) = (new.clone(), old.to_hex());
        tokio::task::spawn_blocking(move || report::compare(&against, &old_manifest, &new))
            .await
            .map(Some)
            .map_err(|e| Error::Internal(e.to_string()))
    }

    /// A stored scan read back (into a staging file, never whole in memory as bytes).
    async fn stored_manifest(&self, digest: &Digest) -> Result<Option<Manifest>, Error> {
        let Some(mut read) = self.blobs.read(digest, None).await? else {
            return Ok(None);
        };
        let file = tempfile::NamedTempFile::new_in(self.blobs.staging_dir())?;
        let mut out = std::io::BufWriter::new(file.reopen()?);
        while let Some(chunk) = read.stream.next().await {
            out.write_all(&chunk?)?;
        }
        out.flush()?;
        drop(out);
        let path = file.path().to_path_buf();
        let manifest = read_manifest(path).await?;
        drop(file);
        Ok(Some(manifest))
    }

    /// Stored scans, newest first, of one host or of all.
    pub async fn scans(&self, host: Option<&str>, limit: u32) -> Result<Vec<ScanSummary>, Error> {
        self.index.scans(host, limit).await
    }

    /// A stored scan's summary.
    pub async fn scan(&self, digest: &Digest) -> Result<Option<ScanSummary>, Error> {
        self.index.scan(digest).await
    }

    /// A stored scan's report: `None` for an unknown scan, `Some(None)` for a scan stored
    /// before the registry analysed scans.
    pub async fn scan_report(&self, digest: &Digest) -> Result<Option<Option<ScanReport>>, Error> {
        self.index.scan_report(digest).await
    }
}

/// Reads and checks a scan file off the async threads.
async fn read_manifest(path: std::path::PathBuf) -> Result<Manifest, Error> {
    tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(path)?;
        Ok::<_, Error>(Manifest::read(std::io::BufReader::new(file))?)
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

/// The scan's entry with as much of its report as fits a log entry: findings are halved
/// until it does (the counts stay whole).
fn fitted(
    summary: &ScanSummary,
    created_ns: i64,
    mut report: Option<ScanReport>,
) -> Result<(Logged, Option<ScanReport>), Error> {
    loop {
        let entry = LogEntry::Scan {
            scan: summary.clone(),
            created_ns,
            report: report.clone(),
        };
        match Logged::new(entry, "the entry is too large") {
            Ok(logged) => return Ok((logged, report)),
            Err(e @ Error::EntryTooLarge { .. }) => {
                if !report.as_mut().is_some_and(report::cut) {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        }
    }
}
