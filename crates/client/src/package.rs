//! Pulling a package, and checking a pulled one offline, so that a lying registry can
//! neither relabel a package nor serve a signed old one as a newer version, unless it logs
//! that relabelling where every auditor of the log sees it.
//!
//! A detached signature covers the bytes only; the log entry binds name, version, bytes and
//! signatures together. So what is written is decided, in this order, by:
//! 1. the bytes (their SHA-256 and size, hashed as they stream);
//! 2. the package's log entry, proven included in a checkpoint signed by the log key the
//!    user's policy pins, consistent with the last checkpoint this client saw;
//! 3. that entry naming exactly the name and version asked for, these bytes and size;
//! 4. the user's policy allowing the entry's name and version for the entry's signatures
//!    (verified over the bytes here, never taken from the registry's `key_id`).
//!
//! [`VerifiedPackage::install`] writes the package, each signature beside it (`.sig` for
//! OpenPGP) and a C2SP tlog-proof of its entry (`.tlog-proof`), which
//! [`verify_offline`] checks again with no network.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use cairn_api::{LogEntry, PackageSignature, SignatureKind};
use cairn_sign::detached::Kind;
use cairn_sign::policy::{Artifact, Decision, Policy};
use cairn_tlog::{NoteVerifier, TlogProof};

use crate::client::{Client, Progress};
use crate::error::{Error, Refusal};
use crate::proof::{hashes, prove};
use crate::state::LogState;

/// What a package's log entry binds, once proven.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageFacts {
    /// Package name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The file name it is published under.
    pub file: String,
    /// SHA-256 of the bytes, hex.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// Every signature, as uploaded.
    pub signatures: Vec<(SignatureKind, Vec<u8>)>,
    /// The entry's index in the log.
    pub log_index: u64,
}

/// A package that passed every check, waiting in a temporary file.
#[derive(Debug)]
pub struct VerifiedPackage {
    /// The bytes, outside the target directory until [`VerifiedPackage::install`].
    pub file: tempfile::NamedTempFile,
    /// What its proven entry binds.
    pub facts: PackageFacts,
    /// The policy signer entry that allowed it.
    pub signer: String,
    /// The tlog-proof of its entry (what was proven).
    pub proof: TlogProof,
}

/// Where [`VerifiedPackage::install`] wrote the package.
#[derive(Clone, Debug)]
pub struct InstalledPackage {
    /// The package.
    pub file: PathBuf,
    /// Its signatures.
    pub signatures: Vec<PathBuf>,
    /// Its tlog-proof.
    pub proof: PathBuf,
}

/// Downloads and proves package `name` at `version` (the newest the registry lists when
/// `None`) against `policy` and `state`. Nothing is written: see
/// [`VerifiedPackage::install`].
pub async fn pull_package(
    client: &Client,
    policy: &Policy,
    state: &LogState,
    name: &str,
    version: Option<&str>,
    progress: &dyn Progress,
) -> Result<VerifiedPackage, Error> {
    let log = log_key(policy)?;
    let version = match version {
        Some(v) => v.to_owned(),
        None => newest(client, name).await?,
    };
    let claimed = client.package(name, &version).await?;
    if !cairn_api::is_valid_package_file(&claimed.file) {
        return Err(Refusal::Package(format!(
            "the registry names the file {:?}, which is no package file name",
            claimed.file
        ))
        .into());
    }
    let tmp = tempfile::NamedTempFile::new().map_err(Error::io("creating a temporary file"))?;
    let mut out = tokio::fs::File::from_std(
        tmp.reopen()
            .map_err(Error::io("opening the temporary file"))?,
    );
    let got = client
        .download_package(name, &version, &claimed.file, &mut out, progress)
        .await?;
    out.sync_all()
        .await
        .map_err(Error::io("writing the download"))?;
    let answer = client.package_proof(name, &version).await?;
    let proven = prove(client, &answer, &log, state).await?;
    let asked = Asked {
        name,
        version: &version,
        file: Some(&claimed.file),
    };
    let facts = check_entry(&proven.entry, proven.index, &asked, &got.sha256, got.size)?;
    let signer = check_policy(policy, &facts, &got.sha256, tmp.path())?;
    let proof = TlogProof {
        extra: Some(cairn_tlog::entry::canonical(&answer.entry)),
        index: answer.index,
        proof: hashes(&answer.proof).map_err(Refusal::Log)?,
        checkpoint: answer.checkpoint.clone(),
    };
    Ok(VerifiedPackage {
        file: tmp,
        facts,
        signer,
        proof,
    })
}

/// The newest version the registry lists (a claim: the entry proven later must name it).
async fn newest(client: &Client, name: &str) -> Result<String, Error> {
    let list = client.package_versions(name, 1).await?;
    list.packages
        .into_iter()
        .next()
        .map(|p| p.version)
        .ok_or_else(|| Refusal::Package(format!("the registry lists no version of {name}")).into())
}

fn log_key(policy: &Policy) -> Result<NoteVerifier, Refusal> {
    NoteVerifier::parse(policy.log_key().ok_or(Refusal::NoLogPinned)?)
        .map_err(|e| Refusal::Log(format!("the policy's log key: {e}")))
}

/// What a package's entry must publish: the name and version asked for and, when the
/// registry named one, the file name it serves.
struct Asked<'a> {
    name: &'a str,
    version: &'a str,
    file: Option<&'a str>,
}

/// The entry must be this package's publication: the name and version asked for, these
/// bytes, and a file name that is one path segment (it names what is written).
fn check_entry(
    entry: &LogEntry,
    index: u64,
    asked: &Asked<'_>,
    sha256: &[u8; 32],
    size: u64,
) -> Result<PackageFacts, Refusal> {
    let (name, version) = (asked.name, asked.version);
    let wrong = |what: String| Refusal::Entry { index, what };
    let LogEntry::Package {
        name: logged_name,
        version: logged_version,
        file,
        digest,
        size: logged_size,
        signatures,
        ..
    } = entry
    else {
        return Err(wrong(format!(
            "is no package publication, yet it is given as the proof of {name} {version}"
        )));
    };
    if logged_name != name || logged_version != version {
        return Err(wrong(format!(
            "publishes {logged_name} {logged_version}, not the {name} {version} asked for: the registry serves another version under this one"
        )));
    }
    if !cairn_api::is_valid_package_file(file) || asked.file.is_some_and(|f| f != file) {
        return Err(wrong(format!(
            "publishes the file {file:?}, not the {:?} the registry serves",
            asked.file.unwrap_or("(a package file name)")
        )));
    }
    let got = hex::encode(sha256);
    if *digest != got {
        return Err(wrong(format!(
            "records bytes {digest}; the file served is {got}"
        )));
    }
    if *logged_size != size {
        return Err(wrong(format!(
            "records {logged_size} bytes; the file has {size}"
        )));
    }
    Ok(PackageFacts {
        name: logged_name.clone(),
        version: logged_version.clone(),
        file: file.clone(),
        digest: digest.clone(),
        size,
        signatures: decode_signatures(signatures).map_err(wrong)?,
        log_index: index,
    })
}

fn decode_signatures(
    signatures: &[PackageSignature],
) -> Result<Vec<(SignatureKind, Vec<u8>)>, String> {
    signatures
        .iter()
        .map(|s| {
            base64::engine::general_purpose::STANDARD
                .decode(&s.signature)
                .map(|b| (s.kind, b))
                .map_err(|_| "records a signature that is not base64".to_owned())
        })
        .collect()
}

fn sign_kind(kind: SignatureKind) -> Kind {
    match kind {
        SignatureKind::Openpgp => Kind::OpenPgp,
        SignatureKind::Ecdsa => Kind::Ecdsa,
        SignatureKind::Ed25519 => Kind::Ed25519,
    }
}

/// The policy must allow the entry's name and version for the entry's signatures, verified
/// over the file at `path`. The signer entry's name on success.
fn check_policy(
    policy: &Policy,
    facts: &PackageFacts,
    sha256: &[u8; 32],
    path: &Path,
) -> Result<String, Error> {
    let signatures: Vec<(Kind, Vec<u8>)> = facts
        .signatures
        .iter()
        .map(|(k, b)| (sign_kind(*k), b.clone()))
        .collect();
    let artifact = Artifact {
        name: &facts.name,
        version: Some(&facts.version),
        digest: sha256,
        bytes: None,
    };
    match policy
        .evaluate_file(&artifact, &signatures, path, chrono::Utc::now())
        .map_err(|e| Error::Io {
            what: format!("reading {}", path.display()),
            source: std::io::Error::other(e),
        })? {
        Decision::Allowed { signer, .. } => Ok(signer),
        Decision::Denied(denial) => Err(Refusal::Policy {
            plugin: format!("{} {}", facts.name, facts.version),
            denial,
        }
        .into()),
    }
}

/// The names a package's signature files get beside it: `{file}.sig` for the first OpenPGP
/// signature (`.ecdsa`, `.ed25519` for the others kinds), `{file}.2.sig` for a second one.
pub fn signature_names(file: &str, signatures: &[(SignatureKind, Vec<u8>)]) -> Vec<String> {
    let mut seen = std::collections::HashMap::new();
    signatures
        .iter()
        .map(|(kind, _)| {
            let n = seen.entry(*kind).or_insert(0u32);
            *n += 1;
            match *n {
                1 => format!("{file}{}", kind.suffix()),
                n => format!("{file}.{n}{}", kind.suffix()),
            }
        })
        .collect()
}

/// The signature files [`VerifiedPackage::install`] would have written beside `file` that
/// exist (`{file}.sig`, `{file}.2.sig`, `{file}.ecdsa`, …).
pub fn signature_files_beside(file: &Path) -> Vec<PathBuf> {
    let name = file.to_string_lossy();
    let mut found = Vec::new();
    for kind in SignatureKind::ALL {
        for n in 1..=cairn_api::MAX_PACKAGE_SIGNATURES {
            let path = match n {
                1 => PathBuf::from(format!("{name}{}", kind.suffix())),
                n => PathBuf::from(format!("{name}.{n}{}", kind.suffix())),
            };
            if path.is_file() {
                found.push(path);
            }
        }
    }
    found
}

impl VerifiedPackage {
    /// Writes the package into `dir` under its published file name, each signature beside
    /// it and its tlog-proof as `{file}.tlog-proof`; each file appears whole or not at all.
    pub fn install(self, dir: &Path) -> Result<InstalledPackage, Error> {
        std::fs::create_dir_all(dir).map_err(Error::io(format!("creating {}", dir.display())))?;
        let target = dir.join(&self.facts.file);
        // Signature files of an earlier pull of this file name would fail `cairn verify
        // --proof` (each must be one the entry binds): only this pull's stay.
        for stale in signature_files_beside(&target) {
            std::fs::remove_file(&stale)
                .map_err(Error::io(format!("removing {}", stale.display())))?;
        }
        let mut signatures = Vec::new();
        for (name, (_, bytes)) in signature_names(&self.facts.file, &self.facts.signatures)
            .iter()
            .zip(&self.facts.signatures)
        {
            let path = dir.join(name);
            crate::bytes::write_atomically(&path, bytes)?;
            signatures.push(path);
        }
        let proof = dir.join(format!("{}.tlog-proof", self.facts.file));
        crate::bytes::write_atomically(&proof, self.proof.to_text().as_bytes())?;
        crate::bytes::persist(self.file, &target)?;
        Ok(InstalledPackage {
            file: target,
            signatures,
            proof,
        })
    }
}

/// A package checked offline: what its proof's entry binds, and the policy signer that
/// allowed it.
#[derive(Clone, Debug)]
pub struct OfflineVerified {
    /// What the entry binds.
    pub facts: PackageFacts,
    /// The policy signer entry that allowed it.
    pub signer: String,
}

/// Checks a pulled package with no network: the tlog-proof's checkpoint is signed by the
/// policy's log key and includes the entry in its `extra` line; that entry publishes
/// exactly the bytes of `file`; each of `signature_files` is byte for byte one of the
/// signatures the entry binds; and the policy allows the entry's name and version for the
/// entry's signatures over the file.
pub fn verify_offline(
    policy: &Policy,
    proof_text: &str,
    file: &Path,
    signature_files: &[PathBuf],
) -> Result<OfflineVerified, Error> {
    let log = log_key(policy)?;
    let proof = TlogProof::parse(proof_text).map_err(|e| Refusal::Log(e.to_string()))?;
    let checkpoint = cairn_tlog::verify::open_checkpoint(proof.checkpoint.as_bytes(), &log)
        .map_err(|e| Refusal::Log(format!("checkpoint signature: {e}")))?;
    let extra = proof
        .extra
        .as_deref()
        .ok_or_else(|| Refusal::Log("the proof carries no entry (no extra line)".into()))?;
    let leaf = cairn_tlog::merkle::leaf_hash(extra);
    cairn_tlog::merkle::verify_inclusion(
        proof.index,
        checkpoint.size,
        &leaf,
        &proof.proof,
        &checkpoint.root,
    )
    .map_err(|e| {
        Refusal::Log(format!(
            "inclusion proof: the entry is not at index {} of the checkpoint of {} entries: {e}",
            proof.index, checkpoint.size
        ))
    })?;
    let entry: LogEntry = serde_json::from_slice(extra).map_err(|e| Refusal::Entry {
        index: proof.index,
        what: format!("is no registry entry: {e}"),
    })?;
    let (name, version) = match &entry {
        LogEntry::Package { name, version, .. } => (name.clone(), version.clone()),
        _ => {
            return Err(Refusal::Entry {
                index: proof.index,
                what: "is no package publication".into(),
            }
            .into());
        }
    };
    let (sha256, size) = sha256_file(file)?;
    let asked = Asked {
        name: &name,
        version: &version,
        file: None,
    };
    let facts = check_entry(&entry, proof.index, &asked, &sha256, size)?;
    for path in signature_files {
        let bytes =
            std::fs::read(path).map_err(Error::io(format!("reading {}", path.display())))?;
        if !facts.signatures.iter().any(|(_, s)| *s == bytes) {
            return Err(Refusal::Package(format!(
                "{} is not a signature the log entry {} binds to {name} {version}",
                path.display(),
                proof.index
            ))
            .into());
        }
    }
    let signer = check_policy(policy, &facts, &sha256, file)?;
    Ok(OfflineVerified { facts, signer })
}

/// SHA-256 and size of a file, streamed.
fn sha256_file(path: &Path) -> Result<([u8; 32], u64), Error> {
    use sha2::Digest as _;
    let reading = || Error::io(format!("reading {}", path.display()));
    let mut f = std::fs::File::open(path).map_err(reading())?;
    let mut hasher = sha2::Sha256::new();
    let size = std::io::copy(&mut f, &mut hasher).map_err(reading())?;
    Ok((hasher.finalize().into(), size))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, version: &str, file: &str, digest: &[u8; 32], size: u64) -> LogEntry {
        LogEntry::Package {
            name: name.into(),
            version: version.into(),
            file: file.into(),
            media_type: "application/zip".into(),
            digest: hex::encode(digest),
            size,
            signatures: vec![],
            created_ns: 0,
        }
    }

    /// The entry's file name decides what is written: one path segment, the one served.
    #[test]
    fn an_entry_must_name_the_package_asked_for_and_a_safe_file() {
        let digest = [7u8; 32];
        let asked = Asked {
            name: "nginx",
            version: "1.2.0",
            file: Some("nginx.zip"),
        };
        let good = entry("nginx", "1.2.0", "nginx.zip", &digest, 9);
        assert!(check_entry(&good, 3, &asked, &digest, 9).is_ok());
        let refusals = [
            (
                entry("nginx", "1.2.0", "../../.bashrc", &digest, 9),
                "publishes the file",
            ),
            (
                entry("nginx", "1.2.0", "/etc/passwd", &digest, 9),
                "publishes the file",
            ),
            (
                entry("nginx", "1.2.0", "other.zip", &digest, 9),
                "publishes the file",
            ),
            (
                entry("nginx", "1.1.0", "nginx.zip", &digest, 9),
                "not the nginx 1.2.0 asked for",
            ),
            (
                entry("apache", "1.2.0", "nginx.zip", &digest, 9),
                "not the nginx 1.2.0 asked for",
            ),
            (
                entry("nginx", "1.2.0", "nginx.zip", &[8u8; 32], 9),
                "records bytes",
            ),
            (
                entry("nginx", "1.2.0", "nginx.zip", &digest, 10),
                "records 10 bytes",
            ),
        ];
        for (e, says) in refusals {
            let why = check_entry(&e, 3, &asked, &digest, 9)
                .unwrap_err()
                .to_string();
            assert!(why.contains(says), "{why}");
        }
        let offline = Asked {
            file: None,
            ..asked
        };
        let unsafe_file = entry("nginx", "1.2.0", "../x.zip", &digest, 9);
        assert!(check_entry(&unsafe_file, 3, &offline, &digest, 9).is_err());
    }
}
