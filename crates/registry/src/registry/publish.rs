//! Publishing and deleting artifacts: signature, analysis and policy first, then under the
//! digest's lock the blob and the log entry.

use std::path::PathBuf;

use cairn_plugin::Descriptor;

use super::Registry;
use super::journal::Logged;
use crate::digest::Digest;
use crate::error::Error;
use crate::log_entry::{EntryCodec as _, LogEntry};
use crate::model::{NewArtifact, UploadOutcome, check_servable};
use crate::staging::Staged;

impl Registry {
    /// Checks, analyses and commits a received upload.
    ///
    /// Order: signature (cheap, refuses strangers first), descriptors (off the reactor),
    /// policy, then under the digest's lock the blob and, last, the log entry with its index
    /// rows. "Added" is answered only after both are durable.
    pub async fn publish(&self, staged: Staged, signature: &str) -> Result<UploadOutcome, Error> {
        let digest = staged.digest();
        self.metrics.upload_bytes.inc_by(staged.size());
        self.refuse_unverifiable()?;
        let check = self.keys.check(signature, digest.as_bytes())?;
        self.writable().await?;
        if self.index.contains(&digest).await? {
            return Ok(UploadOutcome::AlreadyExists);
        }
        let descriptors = analyze_file(staged.path().to_path_buf()).await?;
        if descriptors.is_empty() {
            return Err(Error::NoDescriptors);
        }
        check_servable(&descriptors)?;
        self.check_policy(&digest, &check.normalized, &descriptors)?;
        let artifact = NewArtifact {
            digest,
            size: staged.size(),
            signature: check.normalized,
            key_id: check.key_id,
            created_ns: now_ns(),
            descriptors,
            log_index: None,
        };
        let entry = Logged::new(
            LogEntry::artifact(&artifact),
            "too many or too long descriptors",
        )?;
        let recorded = {
            let _guard = self.lock(&digest).await?;
            if self.index.contains(&digest).await? {
                return Ok(UploadOutcome::AlreadyExists);
            }
            // Blob first: an entry never names bytes the store lacks. A crash after the blob
            // leaves an unindexed blob, invisible; a crash after the log append is repaired
            // by replay (embedded) or never happens (shared: log and index are one
            // transaction).
            self.blobs.commit(staged).await?;
            match self.record(entry).await {
                Ok(recorded) => recorded,
                Err(e) => return Err(self.unlogged(&digest, e).await),
            }
        };
        let Some(recorded) = recorded else {
            return Ok(UploadOutcome::AlreadyExists);
        };
        let appended = self.published(recorded).await?;
        tracing::info!(digest = %digest, size = artifact.size, index = appended.index, "artifact added");
        Ok(UploadOutcome::Added)
    }

    /// Keys are configured, only none that verifies a hex ECDSA signature (OpenPGP keys
    /// verify packages only): such an upload is refused, never stored unverified.
    pub(super) fn refuse_unverifiable(&self) -> Result<(), Error> {
        if self.keys.is_empty() && !self.package_keys.keys.is_empty() {
            return Err(Error::Sign(cairn_sign::Error::Signature(
                cairn_sign::SignatureDefect::NoTrustedKey,
            )));
        }
        Ok(())
    }

    /// A blob committed for a change that was not logged is nobody's: it goes (an entry
    /// that was logged keeps its blob, which replay indexes).
    pub(super) async fn unlogged(&self, digest: &Digest, e: Error) -> Error {
        if matches!(e, Error::IndexBehind { .. } | Error::NotYetLogged(_))
            || self.blob_held(digest).await.unwrap_or(true)
        {
            return e;
        }
        if let Err(del) = self.blobs.delete(digest).await {
            tracing::warn!(error = %del, digest = %digest, "removing the blob of an unlogged upload");
        }
        e
    }

    /// Deletes an artifact: the log entry and index rows first (it disappears at once),
    /// then the blob.
    pub async fn delete(&self, digest: &Digest) -> Result<(), Error> {
        self.writable().await?;
        let recorded = {
            let _guard = self.lock(digest).await?;
            if !self.index.contains(digest).await? {
                return Err(Error::NotFound);
            }
            let entry = LogEntry::Delete {
                digest: digest.to_hex(),
                deleted_ns: now_ns(),
            };
            let recorded = self
                .record(Logged::new(entry, "the entry is too large")?)
                .await?;
            if recorded.is_none() && self.shared() {
                return Err(Error::NotFound);
            }
            // Under the lock: a concurrent upload of the same bytes waits, then stores anew.
            if !self.blob_held(digest).await? {
                self.blobs.delete(digest).await?;
            }
            recorded
        };
        if let Some(recorded) = recorded {
            self.published(recorded).await?;
        }
        tracing::info!(digest = %digest, "artifact deleted");
        Ok(())
    }

    /// Every descriptor of an upload must pass the trust policy, if one is configured.
    fn check_policy(
        &self,
        digest: &Digest,
        signature_hex: &str,
        descriptors: &[Descriptor],
    ) -> Result<(), Error> {
        let Some(policy) = &self.policy else {
            return Ok(());
        };
        // The signature was normalised by the key check: hex it is.
        let signature = hex::decode(signature_hex)
            .map_err(|_| Error::Internal("a checked signature is not hex".into()))?;
        let digest: [u8; 32] = *digest.as_bytes();
        for d in descriptors {
            let artifact = cairn_sign::policy::Artifact {
                name: &d.name,
                version: Some(&d.version),
                digest: &digest,
                bytes: None,
            };
            if let cairn_sign::policy::Decision::Denied(denial) = policy.evaluate(
                &artifact,
                std::slice::from_ref(&signature),
                chrono::Utc::now(),
            ) {
                return Err(Error::PolicyDenied {
                    name: d.name.clone(),
                    version: d.version.clone(),
                    denial: Box::new(denial),
                });
            }
        }
        Ok(())
    }
}

/// Runs the descriptor analysis on a blocking thread over a memory map of the staged file.
async fn analyze_file(path: PathBuf) -> Result<Vec<Descriptor>, Error> {
    tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path)?;
        // The staging file is private to this process (random name, created with
        // create_new) and nothing writes or truncates it while it is mapped.
        let map = cairn_mmap::map(&file)?;
        // A bug in a parser dependency must not take the request down: report it as a
        // malformed binary instead.
        let result =
            std::panic::catch_unwind(|| cairn_plugin::analyze(&map)).unwrap_or_else(|_| {
                Err(cairn_plugin::Error::Malformed(
                    "the binary crashed the analyzer".into(),
                ))
            });
        Ok(result?)
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

/// Now, in ns since the Unix epoch (the log's and the index's time unit).
pub(super) fn now_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}
