//! Attestations: checked, stored content-addressed and logged once.

use cairn_sign::attestation::Attestation;

use super::Registry;
use cairn_api::SearchKey;

use super::journal::{Logged, parse_logged};
use crate::digest::Digest;
use crate::error::Error;
use crate::index::search::{TAG_ATTESTATION, key_hash};
use crate::log_entry::LogEntry;
use crate::opening::read_blocking;

impl Registry {
    /// Checks a signed attestation, stores it and logs its commitment, once: a document
    /// logged before is answered with its earlier entry (`false`), never logged again.
    ///
    /// Order: the entry's size is checked before anything is stored (a refused document is
    /// never served); the document is stored, then logged. Whether it was logged before is
    /// asked of the search index, which is the log's projection: a crash between storing
    /// and logging leaves a stored document without an entry, and the next submission logs
    /// it.
    pub async fn attest(&self, doc: Vec<u8>) -> Result<(Attestation, u64, bool), Error> {
        let keys = self.attestation_keys.clone();
        let checked = tokio::task::spawn_blocking(move || {
            cairn_sign::attestation::check_with(&doc, &keys)
                .map(|c| (c, doc))
                .map_err(|e| Error::Attestation(e.0))
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
        let (checked, doc) = checked?;
        self.writable().await?;
        let entry = Logged::new(
            LogEntry::Attestation {
                format: checked.format.to_owned(),
                digest: checked.digest.clone(),
                subjects: checked.subjects.clone(),
                materials: checked.materials.clone(),
                signers: checked.signers.clone(),
            },
            "too many subjects or signers in the attestation",
        )?;
        let digest = Digest::parse(&checked.digest)
            .ok_or_else(|| Error::Internal("attestation digest".into()))?;
        let name = format!("sha256/{}/{}", &checked.digest[..2], checked.digest);
        let _guard = self.lock(&digest).await?;
        if let Some(index) = self.attestation_entry(&digest).await? {
            return Ok((checked, index, false));
        }
        self.store_object(&name, doc).await?;
        let recorded = self
            .record(entry)
            .await?
            .ok_or_else(|| Error::Internal("an attestation changes nothing to refuse".into()))?;
        let appended = self.published(recorded).await?;
        tracing::info!(digest = %checked.digest, index = appended.index, "attestation logged");
        Ok((checked, appended.index, true))
    }

    async fn store_object(&self, name: &str, bytes: Vec<u8>) -> Result<(), Error> {
        let store = self.attestations.clone();
        let name = name.to_owned();
        tokio::task::spawn_blocking(move || store.write(&name, &bytes))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
            .map_err(Error::from)
    }

    /// The index of the attestation entry of document `digest`, if it was logged: the
    /// search index's attestation rows under this digest, each checked against its entry.
    /// An entry sequenced but not yet published (the shared log, another instance) is
    /// waited for, so it is found rather than logged twice.
    pub async fn attestation_entry(&self, digest: &Digest) -> Result<Option<u64>, Error> {
        let hex = digest.to_hex();
        let key = key_hash(SearchKey::Digest, &hex);
        let rows = self.index.tagged(&[key], &[TAG_ATTESTATION]).await?;
        let mut candidates: Vec<u64> = rows
            .iter()
            .filter_map(|(_, at, _)| u64::try_from(*at).ok())
            .collect();
        candidates.sort_unstable();
        for at in candidates {
            if at >= self.log.size() {
                self.log
                    .covering(at, self.log_wait)
                    .await
                    .map_err(|_| Error::NotYetLogged(at))?;
            }
            for bytes in self.read_at(vec![at]).await? {
                if let LogEntry::Attestation { digest: d, .. } = parse_logged(at, &bytes)? {
                    if d.eq_ignore_ascii_case(&hex) {
                        return Ok(Some(at));
                    }
                }
            }
        }
        Ok(None)
    }

    /// A stored attestation document.
    pub async fn attestation(&self, digest: &Digest) -> Result<Option<Vec<u8>>, Error> {
        let d = digest.to_hex();
        read_blocking(self.attestations.clone(), format!("sha256/{}/{d}", &d[..2])).await
    }
}
