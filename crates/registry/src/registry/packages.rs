//! Packages of any kind with detached signatures: checked (name, version, every signature
//! against the registry's keys and policy, streamed from the staging file), stored
//! content-addressed and logged as one `package` entry that binds name, version, bytes and
//! signatures, so a signed old package cannot be served as a newer version without a
//! public log entry that says so.

use std::path::PathBuf;
use std::sync::Arc;

use cairn_api::{PackageSignature, PackageSummary, SignatureKind, UploadOutcome};
use cairn_sign::detached::{DetachedKeys, Kind};
use cairn_sign::policy::{Artifact, Decision, Policy};

use super::Registry;
use super::journal::Logged;
use super::publish::now_ns;
use crate::digest::Digest;
use crate::error::Error;
use crate::index::packages::PackageQuery;
use crate::log_entry::LogEntry;
use crate::staging::Staged;

/// A package upload's fields besides its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPackage {
    /// Package name.
    pub name: String,
    /// Its version: semver, in canonical form.
    pub version: String,
    /// The file name to serve it under.
    pub file: String,
    /// Its media type; guessed from the file name when absent.
    pub media_type: Option<String>,
    /// Every detached signature, as uploaded.
    pub signatures: Vec<Vec<u8>>,
}

/// What signatures are checked with: the registry's keys (`--public-key`, OpenPGP keys
/// included) and its trust policy's signer keys.
#[derive(Clone, Debug, Default)]
pub(crate) struct PackageKeys {
    /// `--public-key` files.
    pub(crate) keys: Arc<DetachedKeys>,
    /// The policy's signer keys, and the policy itself.
    pub(crate) policy: Option<(Arc<DetachedKeys>, Arc<Policy>)>,
}

impl Registry {
    /// Checks and stores a package. The same bytes under the same name and version answer
    /// `AlreadyExists`; other bytes are refused (409) until that version is deleted.
    pub async fn publish_package(
        &self,
        staged: Staged,
        new: NewPackage,
    ) -> Result<(UploadOutcome, PackageSummary), Error> {
        self.metrics.upload_bytes.inc_by(staged.size());
        check_fields(&new)?;
        self.writable().await?;
        let digest = staged.digest();
        if let Some(existing) = self.index.package(&new.name, &new.version).await? {
            return same_or_conflict(existing, &digest);
        }
        let signatures = self.check_signatures(&staged, &new).await?;
        let media_type = match &new.media_type {
            Some(m) => m.clone(),
            None => guess_media_type(&new.file),
        };
        let entry = LogEntry::Package {
            name: new.name.clone(),
            version: new.version.clone(),
            file: new.file.clone(),
            media_type,
            digest: digest.to_hex(),
            size: staged.size(),
            signatures,
            created_ns: now_ns(),
        };
        let logged = Logged::new(entry.clone(), "too many or too large signatures")?;
        let recorded = {
            let _name = self.lock_name(&name_lock(&new.name, &new.version)).await?;
            if let Some(existing) = self.index.package(&new.name, &new.version).await? {
                return same_or_conflict(existing, &digest);
            }
            let _bytes = self.lock(&digest).await?;
            self.blobs.commit(staged).await?;
            match self.record(logged).await {
                Ok(recorded) => recorded,
                Err(e) => return Err(self.unlogged(&digest, e).await),
            }
        };
        let Some(recorded) = recorded else {
            let existing = self.index.package(&new.name, &new.version).await?;
            return existing
                .ok_or_else(|| Error::Internal("a package recorded but not indexed".into()))
                .and_then(|e| same_or_conflict(e, &digest));
        };
        let appended = self.published(recorded).await?;
        tracing::info!(name = %new.name, version = %new.version, digest = %digest, index = appended.index, "package added");
        let package = crate::index::packages::summary_of(entry, Some(appended.index))?;
        Ok((UploadOutcome::Added, package))
    }

    /// Deletes a package version: the entry and row first (it disappears at once), then the
    /// blob unless another artifact, package or EFI file holds the same bytes.
    pub async fn delete_package(&self, name: &str, version: &str) -> Result<(), Error> {
        self.writable().await?;
        let recorded =
            {
                let _name = self.lock_name(&name_lock(name, version)).await?;
                let existing = self.index.package(name, version).await?.ok_or_else(|| {
                    Error::UnknownPackage {
                        name: name.to_owned(),
                        version: version.to_owned(),
                    }
                })?;
                let digest = Digest::parse(&existing.digest)
                    .ok_or_else(|| Error::Corrupt(format!("package digest {}", existing.digest)))?;
                let entry = LogEntry::PackageDelete {
                    name: name.to_owned(),
                    version: version.to_owned(),
                    digest: existing.digest.clone(),
                    deleted_ns: now_ns(),
                };
                let recorded = self
                    .record(Logged::new(entry, "the entry is too large")?)
                    .await?;
                let _bytes = self.lock(&digest).await?;
                if !self.blob_held(&digest).await? {
                    self.blobs.delete(&digest).await?;
                }
                recorded
            };
        if let Some(recorded) = recorded {
            self.published(recorded).await?;
        }
        tracing::info!(name, version, "package deleted");
        Ok(())
    }

    /// One published package.
    pub async fn package(
        &self,
        name: &str,
        version: &str,
    ) -> Result<Option<PackageSummary>, Error> {
        self.index.package(name, version).await
    }

    /// Published packages matching `query`.
    pub async fn packages(&self, query: &PackageQuery) -> Result<Vec<PackageSummary>, Error> {
        self.index.packages(query).await
    }

    /// Every signature classified and, when the registry has keys, verified by one of them
    /// (streamed from the staging file, off the reactor); then the policy, if any, decides
    /// on the name and version the entry will bind.
    async fn check_signatures(
        &self,
        staged: &Staged,
        new: &NewPackage,
    ) -> Result<Vec<PackageSignature>, Error> {
        let keys = self.package_keys.clone();
        let path: PathBuf = staged.path().to_path_buf();
        let digest = *staged.digest().as_bytes();
        let (name, version, signatures) = (
            new.name.clone(),
            new.version.clone(),
            new.signatures.clone(),
        );
        tokio::task::spawn_blocking(move || {
            let mut checked = Vec::new();
            let mut kinds = Vec::new();
            for (i, signature) in signatures.iter().enumerate() {
                let refused = |why: String| Error::PackageSignature { index: i + 1, why };
                let kind = cairn_sign::detached::classify(signature)
                    .map_err(|e| refused(e.to_string()))?;
                let key_id = keys
                    .verify(kind, signature, &path, &digest)
                    .map_err(|e| refused(e.to_string()))?;
                kinds.push((kind, signature.clone()));
                checked.push(PackageSignature {
                    kind: wire_kind(kind),
                    signature: base64_of(signature),
                    key_id,
                });
            }
            if let Some((_, policy)) = &keys.policy {
                let artifact = Artifact {
                    name: &name,
                    version: Some(&version),
                    digest: &digest,
                    bytes: None,
                };
                if let Decision::Denied(denial) =
                    policy.evaluate_file(&artifact, &kinds, &path, chrono::Utc::now())?
                {
                    return Err(Error::PolicyDenied {
                        name,
                        version,
                        denial: Box::new(denial),
                    });
                }
            }
            Ok(checked)
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
    }

    /// Whether an artifact, a scan, a package or an EFI file holds the blob of `digest`
    /// (a package can be any bytes, a scan's or a plugin's among them).
    pub(super) async fn blob_held(&self, digest: &Digest) -> Result<bool, Error> {
        Ok(self.index.contains(digest).await?
            || self.index.scan(digest).await?.is_some()
            || self.efi_holds(digest).await?
            || self.index.package_holds(digest).await?)
    }
}

impl PackageKeys {
    /// Whether any key is configured (without one, signatures are stored unverified, as
    /// plugin signatures are).
    fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.policy.as_ref().is_none_or(|(k, _)| k.is_empty())
    }

    /// The id of the key that made `signature`; `None` when no key is configured; refused
    /// when keys are configured and none of them made it.
    fn verify(
        &self,
        kind: Kind,
        signature: &[u8],
        path: &std::path::Path,
        digest: &[u8; 32],
    ) -> Result<Option<String>, cairn_sign::Error> {
        if self.is_empty() {
            return Ok(None);
        }
        let sets = std::iter::once(&self.keys).chain(self.policy.as_ref().map(|(k, _)| k));
        for keys in sets {
            if let Some(id) = keys.verify_file(kind, signature, path, digest)? {
                return Ok(Some(id));
            }
        }
        Err(cairn_sign::Error::Signature(
            cairn_sign::SignatureDefect::NoTrustedKey,
        ))
    }
}

/// The same bytes under the same name and version are the same publication; other bytes
/// are a conflict.
fn same_or_conflict(
    existing: PackageSummary,
    digest: &Digest,
) -> Result<(UploadOutcome, PackageSummary), Error> {
    if existing.digest == digest.to_hex() {
        return Ok((UploadOutcome::AlreadyExists, existing));
    }
    Err(Error::PackageExists {
        name: existing.name,
        version: existing.version,
        digest: existing.digest,
    })
}

/// Name, version, file name, media type and signatures must be servable and bounded.
fn check_fields(new: &NewPackage) -> Result<(), Error> {
    let bad = |why: String| Err(Error::BadPackage(why));
    if !cairn_api::is_valid_package_name(&new.name) {
        return bad(format!(
            "package name {:?} must be 1 to {} letters, digits, '.', '_', '-' or '+', starting with a letter or digit",
            new.name,
            cairn_api::MAX_PACKAGE_NAME
        ));
    }
    match semver::Version::parse(&new.version) {
        Ok(v) if v.to_string() == new.version => {}
        Ok(v) => {
            return bad(format!(
                "version {:?} is not in canonical form ({v})",
                new.version
            ));
        }
        Err(e) => return bad(format!("version {:?} is not semver: {e}", new.version)),
    }
    if !cairn_api::is_valid_package_file(&new.file) {
        return bad(format!(
            "file name {:?} must be 1 to {} letters, digits, '.', '_', '-' or '+', and not end in .sig, .ecdsa, .ed25519 or .tlog-proof",
            new.file,
            cairn_api::MAX_PACKAGE_FILE
        ));
    }
    if let Some(m) = &new.media_type {
        if m.len() > 127 || m.parse::<mime_guess::mime::Mime>().is_err() {
            return bad(format!("media type {m:?} is not a MIME type"));
        }
    }
    if new.signatures.is_empty() {
        return bad("at least one signature is required".into());
    }
    if new.signatures.len() > cairn_api::MAX_PACKAGE_SIGNATURES {
        return bad(format!(
            "{} signatures; at most {}",
            new.signatures.len(),
            cairn_api::MAX_PACKAGE_SIGNATURES
        ));
    }
    Ok(())
}

/// The media type a file name suggests; `application/octet-stream` when none does.
fn guess_media_type(file: &str) -> String {
    if file.ends_with(".tar.gz") || file.ends_with(".tgz") {
        return "application/gzip".into();
    }
    mime_guess::from_path(file)
        .first_raw()
        .unwrap_or("application/octet-stream")
        .to_owned()
}

/// The lock that serializes publications and deletions of one name and version (a digest
/// lock keyed by a hash no blob can have: it is over a domain-separated string).
fn name_lock(name: &str, version: &str) -> Digest {
    Digest::from_bytes(cairn_sign::sha256(
        format!("cairn package\0{name}\0{version}").as_bytes(),
    ))
}

/// How the wire names a signature kind.
pub(crate) fn wire_kind(kind: Kind) -> SignatureKind {
    match kind {
        Kind::OpenPgp => SignatureKind::Openpgp,
        Kind::Ecdsa => SignatureKind::Ecdsa,
        Kind::Ed25519 => SignatureKind::Ed25519,
    }
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
