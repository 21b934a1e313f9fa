//! Published Secure Boot files: a signed EFI image whose every signature verifies over its
//! Authenticode digest, or a signed variable update whose signature verifies for the
//! variable it is published for; checked over a memory map, stored content-addressed and
//! logged once, so a fleet can prove that what it booted or enrolled was published.

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;

use cairn_api::{EfiFile, EfiImageSummary, EfiVarsSummary};
use cairn_efi::auth::Variable;
use sha2::{Digest as _, Sha256};

use super::Registry;
use super::journal::Logged;
use super::publish::now_ns;
use crate::digest::Digest;
use crate::error::Error;
use crate::log_entry::LogEntry;
use crate::model::{UploadOutcome, time_of};
use crate::staging::Staged;

/// Most EFI images one listing returns.
pub const MAX_EFI_LISTED: u32 = 1000;

impl Registry {
    /// Checks and stores a signed EFI image: it must be a PE/COFF image, signed, and every
    /// signature must verify over its Authenticode digest; its entry names each signer.
    pub async fn publish_efi_image(
        &self,
        staged: Staged,
    ) -> Result<(UploadOutcome, EfiFile), Error> {
        self.metrics.upload_bytes.inc_by(staged.size());
        self.writable().await?;
        let crashed =
            || Error::EfiImage(cairn_efi::Error::Pe("the image crashed the parser".into()));
        let signers = on_map(staged.path().to_path_buf(), crashed, check_image).await?;
        let entry = LogEntry::EfiImage {
            digest: staged.digest().to_hex(),
            size: staged.size(),
            authenticode: hex::encode(signers.authenticode),
            signers: signers
                .certificates
                .iter()
                .map(|c| fingerprint(c))
                .collect(),
            created_ns: now_ns(),
        };
        self.publish_efi(staged, entry, "too many signatures in the image")
            .await
    }

    /// Checks and stores a signed variable update (`.auth`) of `variable`, replacing it or
    /// (`append`) appending to it: it must parse, and its signature must verify, with the
    /// certificate it carries, over what the firmware checks for that variable and write.
    pub async fn publish_efi_vars(
        &self,
        staged: Staged,
        variable: Variable,
        append: bool,
    ) -> Result<(UploadOutcome, EfiFile), Error> {
        self.metrics.upload_bytes.inc_by(staged.size());
        self.writable().await?;
        let crashed = || Error::EfiAuth(cairn_efi::Error::Auth("the update crashed the parser"));
        let (time, list_digest, signer) =
            on_map(staged.path().to_path_buf(), crashed, move |bytes| {
                match cairn_efi::auth_check::check(bytes, variable, append) {
                    Err(e) => Err(Error::EfiAuth(e)),
                    Ok(Err(unverified)) => Err(Error::EfiAuthUnverified(unverified)),
                    Ok(Ok(checked)) => Ok((
                        cairn_efi::auth_check::time_text(checked.time),
                        hex::encode(Sha256::digest(checked.list)),
                        fingerprint(&checked.signer),
                    )),
                }
            })
            .await?;
        let entry = LogEntry::EfiVars {
            digest: staged.digest().to_hex(),
            size: staged.size(),
            variable: variable.name().to_owned(),
            append,
            time,
            list_digest,
            signer,
            created_ns: now_ns(),
        };
        self.publish_efi(staged, entry, "the entry is too large")
            .await
    }

    /// Under the digest's lock: a file stored before is answered as it was; else the blob,
    /// then the entry (as scans are).
    async fn publish_efi(
        &self,
        staged: Staged,
        entry: LogEntry,
        what: &'static str,
    ) -> Result<(UploadOutcome, EfiFile), Error> {
        let digest = staged.digest();
        let logged = Logged::new(entry.clone(), what)?;
        let recorded = {
            let _guard = self.lock(&digest).await?;
            if let Some(existing) = self.index.efi_file(&digest).await? {
                return Ok((UploadOutcome::AlreadyExists, existing));
            }
            self.blobs.commit(staged).await?;
            self.record(logged).await?
        };
        let Some(recorded) = recorded else {
            // Another upload of the same bytes won the race: answer with its row.
            let existing = self.index.efi_file(&digest).await?;
            return existing
                .map(|e| (UploadOutcome::AlreadyExists, e))
                .ok_or_else(|| {
                    Error::Internal(format!("EFI file {digest} recorded but not indexed"))
                });
        };
        let appended = self.published(recorded).await?;
        let file = summary(&entry, appended.index)
            .ok_or_else(|| Error::Internal("an EFI entry that is no EFI file".into()))?;
        tracing::info!(digest = %digest, index = appended.index, "EFI file added");
        Ok((UploadOutcome::Added, file))
    }

    /// Whether a published EFI file holds the blob of `digest`: an artifact of the same
    /// bytes (a signed PE can be both) must not take the blob along when it goes.
    pub(super) async fn efi_holds(&self, digest: &Digest) -> Result<bool, Error> {
        Ok(self.index.efi_file(digest).await?.is_some())
    }

    /// A published Secure Boot file by the SHA-256 of its bytes.
    pub async fn efi_file(&self, digest: &Digest) -> Result<Option<EfiFile>, Error> {
        self.index.efi_file(digest).await
    }

    /// Published images with this Authenticode digest (hex), oldest first.
    pub async fn efi_images(
        &self,
        authenticode: &str,
        limit: u32,
    ) -> Result<Vec<EfiImageSummary>, Error> {
        self.index.efi_images(authenticode, limit).await
    }
}

/// An image's signers, when every signature verifies; else why it is refused.
fn check_image(image: &[u8]) -> Result<cairn_efi::signers::Signers, Error> {
    match cairn_efi::signers::signers(image) {
        Err(malformed) => Err(Error::EfiImage(malformed)),
        Ok(Err(unverified)) => Err(Error::EfiUnverified(unverified)),
        Ok(Ok(signers)) => Ok(signers),
    }
}

/// How the log names a certificate: the SHA-256 of its DER, hex.
fn fingerprint(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// What the registry lists of an EFI entry logged at `index`.
fn summary(entry: &LogEntry, index: u64) -> Option<EfiFile> {
    match entry.clone() {
        LogEntry::EfiImage {
            digest,
            size,
            authenticode,
            signers,
            created_ns,
        } => Some(EfiFile::EfiImage(EfiImageSummary {
            digest,
            size,
            authenticode,
            signers,
            created_at: time_of(created_ns),
            log_index: Some(index),
        })),
        LogEntry::EfiVars {
            digest,
            size,
            variable,
            append,
            time,
            list_digest,
            signer,
            created_ns,
        } => Some(EfiFile::EfiVars(EfiVarsSummary {
            digest,
            size,
            variable,
            append,
            time,
            list_digest,
            signer,
            created_at: time_of(created_ns),
            log_index: Some(index),
        })),
        _ => None,
    }
}

/// Runs `check` on a blocking thread over a memory map of the staged file at `path` (an
/// image can be a unified kernel image of hundreds of MiB: never copied into the heap).
async fn on_map<T: Send + 'static>(
    path: PathBuf,
    crashed: impl FnOnce() -> Error + Send + 'static,
    check: impl FnOnce(&[u8]) -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path)?;
        // The staging file is private to this process (random name, created with
        // create_new) and nothing writes or truncates it while it is mapped.
        let map = cairn_mmap::map(&file)?;
        // A bug in a parser dependency must not take the request down: the file is
        // refused instead.
        std::panic::catch_unwind(AssertUnwindSafe(|| check(&map)))
            .unwrap_or_else(|_| Err(crashed()))
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}
