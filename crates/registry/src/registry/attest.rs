//! Attestations: checked, stored content-addressed and logged once.

use cairn_sign::attestation::Attestation;

use super::Registry;
use super::journal::Logged;
use crate::digest::Digest;
use crate::error::Error;
use crate::log_entry::LogEntry;
use crate::opening::read_blocking;

impl Registry {
    /// Checks a signed attestation, stores it and logs its commitment, once: a document
    /// logged before is answered with its earlier entry (`false`), never logged again.
    ///
    /// Order: the entry's size is checked before anything is stored (a refused document is
    /// never served); the document is stored, then logged, then the entry's index is kept
    /// beside it (`<digest>.index`). A crash before the last step leaves a stored document
    /// without an index: the next submission logs it.
    pub async fn attest(&self, doc: Vec<u8>) -> Result<(Attestation, u64, bool), Error> {
        let keys = self.keys.clone();
        let checked = tokio::task::spawn_blocking(move || {
            cairn_sign::attestation::check(&doc, &keys)
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
                signers: checked.signers.clone(),
            },
            "too many subjects or signers in the attestation",
        )?;
        let digest = Digest::parse(&checked.digest)
            .ok_or_else(|| Error::Internal("attestation digest".into()))?;
        let name = format!("sha256/{}/{}", &checked.digest[..2], checked.digest);
        let _guard = self.lock(&digest).await?;
        if let Some(index) = self.attestation_index(&name).await? {
            return Ok((checked, index, false));
        }
        self.store_object(&name, doc).await?;
        let recorded = self
            .record(entry)
            .await?
            .ok_or_else(|| Error::Internal("an attestation changes nothing to refuse".into()))?;
        let appended = self.published(recorded).await?;
        self.store_object(
            &format!("{name}.index"),
            appended.index.to_string().into_bytes(),
        )
        .await?;
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

    /// The log index of an attestation logged before, if it was.
    async fn attestation_index(&self, name: &str) -> Result<Option<u64>, Error> {
        let name = format!("{name}.index");
        let kept = read_blocking(self.attestations.clone(), name.clone()).await?;
        kept.map(|b| {
            String::from_utf8_lossy(&b)
                .trim()
                .parse()
                .map_err(|_| Error::Corrupt(format!("attestation index {name}")))
        })
        .transpose()
    }

    /// A stored attestation document.
    pub async fn attestation(&self, digest: &Digest) -> Result<Option<Vec<u8>>, Error> {
        let d = digest.to_hex();
        read_blocking(self.attestations.clone(), format!("sha256/{}/{d}", &d[..2])).await
    }
}
