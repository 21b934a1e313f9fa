//! Pulling a plugin so that a lying registry cannot relabel what a user installs.
//!
//! The registry's answers only say where to look. What is installed is decided by the bytes
//! (their SHA-256 and the descriptors parsed out of them), the user's own trust policy and
//! the transparency log, checked in this order, stopping at the first failure:
//! 1. the bytes hash to the digest asked for;
//! 2. the registry's listing describes one of the binary's descriptors exactly, and a
//!    descriptor matches what the user asked for (name, version, file type, architecture);
//! 3. the artifact's log entry is included in a checkpoint signed by the pinned log key, and
//!    that checkpoint is consistent with the last one this client saw;
//! 4. the entry records exactly this digest, size, signature and descriptor set;
//! 5. the registry's metadata answer agrees with the bytes and the log;
//! 6. the policy allows every descriptor in the binary, for the logged signature, and the
//!    entry's key is one the policy verified it with.
//!
//! The `.meta` written beside the plugin is made from what was verified, never copied from
//! the registry's answer.

use std::path::{Path, PathBuf};

use cairn_api::{Architecture, Descriptor, FileType, LogEntry, PluginMetadata, PluginVariant};
use cairn_sign::policy::{Artifact, Decision, Policy};
use cairn_tlog::NoteVerifier;

use crate::client::{Client, Progress};
use crate::error::{Error, Refusal};
use crate::proof::{Proven, prove};
use crate::query::VariantQuery;
use crate::state::LogState;

/// What the user asks for.
#[derive(Clone, Debug)]
pub struct PullRequest {
    /// Plugin name.
    pub name: String,
    /// Plugin version, if the user named one.
    pub version: Option<String>,
    /// Container format to install.
    pub file_type: FileType,
    /// Architecture to install.
    pub architecture: Architecture,
    /// memflow plugin ABI, if the user named one.
    pub abi: Option<i32>,
}

impl PullRequest {
    /// `name[:version]` for this host's file type and architecture, any ABI.
    pub fn for_host(name: &str, version: Option<&str>) -> Self {
        let (file_type, architecture) = VariantQuery::host();
        PullRequest {
            name: name.to_owned(),
            version: version.map(str::to_owned),
            file_type,
            architecture,
            abi: None,
        }
    }

    fn query(&self) -> VariantQuery {
        VariantQuery {
            version: self.version.clone(),
            file_type: Some(self.file_type),
            architecture: Some(self.architecture),
            abi: self.abi,
            limit: Some(1),
        }
    }

    fn matches(&self, d: &Descriptor) -> bool {
        d.name == self.name
            && self.version.as_ref().is_none_or(|v| *v == d.version)
            && d.file_type == self.file_type
            && d.architecture == self.architecture
            && self.abi.is_none_or(|a| a == d.plugin_version)
    }

    fn describe(&self) -> String {
        let mut s = self.name.clone();
        if let Some(v) = &self.version {
            s.push(' ');
            s.push_str(v);
        }
        s.push_str(&format!(
            " ({} {}",
            self.file_type.as_str(),
            self.architecture.to_key()
        ));
        if let Some(a) = self.abi {
            s.push_str(&format!(", abi {a}"));
        }
        s.push(')');
        s
    }
}

/// A plugin that passed every check, waiting in a temporary file to be installed.
#[derive(Debug)]
pub struct Verified {
    /// The bytes, outside the install directory until [`Verified::install`].
    pub file: tempfile::NamedTempFile,
    /// The `.meta` contents, made from the verified bytes and log entry.
    pub meta: PluginMetadata,
    /// The descriptor the user asked for.
    pub descriptor: Descriptor,
    /// The policy signer entry that allowed it.
    pub signer: String,
}

/// Where [`Verified::install`] put the plugin.
#[derive(Clone, Debug)]
pub struct Installed {
    /// `<digest>.so` (`.dll`, `.dylib`).
    pub file: PathBuf,
    /// `<digest>.meta`.
    pub meta: PathBuf,
}

fn label(d: &Descriptor) -> String {
    format!("{} {}", d.name, d.version)
}

fn labels(ds: &[Descriptor]) -> String {
    let all: Vec<String> = ds.iter().map(label).collect();
    match all.len() {
        0 => "no plugin at all".into(),
        1 => all.join(""),
        n => format!("{n} plugins: {}", all.join(", ")),
    }
}

/// Downloads, proves and checks `request` against `policy` (whose pinned log key proves the
/// log entry) and `state` (the checkpoints this client saw). Nothing is installed: see
/// [`Verified::install`].
pub async fn pull(
    client: &Client,
    policy: &Policy,
    state: &LogState,
    request: &PullRequest,
    progress: &dyn Progress,
) -> Result<Verified, Error> {
    let log = NoteVerifier::parse(policy.log_key().ok_or(Refusal::NoLogPinned)?)
        .map_err(|e| Refusal::Log(format!("the policy's log key: {e}")))?;
    let query = request.query();
    let variant = client
        .find(&request.name, &query)
        .await?
        .plugins
        .into_iter()
        .next()
        .ok_or_else(|| Refusal::NoMatch {
            name: request.name.clone(),
            query: query.to_query(),
        })?;
    crate::client::check_digest(&variant.digest)?;
    let claimed_meta = client.metadata(&variant.digest).await?;
    let (file, size, descriptors) = fetch(client, &variant.digest, progress).await?;
    check_listing(request, &variant, &descriptors)?;
    let answer = client.proof(&variant.digest).await?;
    let proven = prove(client, &answer, &log, state).await?;
    let meta = check_entry(
        &proven,
        &variant.digest,
        &variant.signature,
        size,
        &descriptors,
    )?;
    check_metadata(&claimed_meta, &meta)?;
    let signer = check_policy(policy, &meta, &descriptors, file.path())?;
    let descriptor = descriptors
        .iter()
        .find(|d| request.matches(d))
        .cloned()
        .ok_or_else(|| Refusal::NotAsked {
            asked: request.describe(),
            actual: labels(&descriptors),
        })?;
    Ok(Verified {
        file,
        meta,
        descriptor,
        signer,
    })
}

/// Downloads `digest` into a temporary file and parses its descriptors.
async fn fetch(
    client: &Client,
    digest: &str,
    progress: &dyn Progress,
) -> Result<(tempfile::NamedTempFile, u64, Vec<Descriptor>), Error> {
    let tmp = tempfile::NamedTempFile::new().map_err(Error::io("creating a temporary file"))?;
    let mut out = tokio::fs::File::from_std(
        tmp.reopen()
            .map_err(Error::io("opening the temporary file"))?,
    );
    let got = client.download_to(digest, &mut out, progress).await?;
    out.sync_all()
        .await
        .map_err(Error::io("writing the download"))?;
    let got_hex = hex::encode(got.sha256);
    if got_hex != digest {
        return Err(Refusal::Digest {
            expected: digest.to_owned(),
            got: got_hex,
        }
        .into());
    }
    let descriptors = crate::bytes::with_map(tmp.path(), cairn_plugin::analyze)?.map_err(|e| {
        Refusal::NotAPlugin {
            digest: digest.to_owned(),
            reason: e.to_string(),
        }
    })?;
    Ok((tmp, got.size, descriptors))
}

/// The listing must describe one of the binary's descriptors exactly, and the user's request
/// must match one.
fn check_listing(
    request: &PullRequest,
    variant: &PluginVariant,
    descriptors: &[Descriptor],
) -> Result<(), Refusal> {
    let claimed = &variant.descriptor;
    if !descriptors.contains(claimed) {
        let same_label = descriptors.iter().find(|d| label(d) == label(claimed));
        return Err(match same_label {
            Some(actual) => Refusal::Relabelled {
                claimed: format!("{} is {}", label(claimed), field_diff(claimed, actual).0),
                actual: format!("{} ({})", label(actual), field_diff(claimed, actual).1),
            },
            None => Refusal::Relabelled {
                claimed: label(claimed),
                actual: labels(descriptors),
            },
        });
    }
    if !descriptors.iter().any(|d| request.matches(d)) {
        return Err(Refusal::NotAsked {
            asked: request.describe(),
            actual: labels(descriptors),
        });
    }
    Ok(())
}

/// The first field two descriptors disagree on, as each of them has it.
fn field_diff(a: &Descriptor, b: &Descriptor) -> (String, String) {
    let (k, va, vb) = first_difference(a, b).unwrap_or_default();
    (format!("{k} {va}"), format!("{k} {vb}"))
}

/// The first top-level field whose JSON differs: its name, and each side's value.
fn first_difference<T: serde::Serialize>(a: &T, b: &T) -> Option<(String, String, String)> {
    let (a, b) = (serde_json::to_value(a).ok()?, serde_json::to_value(b).ok()?);
    let (a, b) = (a.as_object()?, b.as_object()?);
    a.iter().find(|(k, v)| b.get(*k) != Some(*v)).map(|(k, v)| {
        let other = b.get(k).cloned().unwrap_or_default();
        (k.clone(), v.to_string(), other.to_string())
    })
}

/// The proven entry must record exactly what was served (`served_digest`, the
/// `served_signature` the registry gives for it, `size` bytes holding `descriptors`); the
/// verified metadata is made from it.
pub fn check_entry(
    proven: &Proven,
    served_digest: &str,
    served_signature: &str,
    size: u64,
    descriptors: &[Descriptor],
) -> Result<PluginMetadata, Refusal> {
    let index = proven.index;
    let wrong = |what: String| Refusal::Entry { index, what };
    let LogEntry::Artifact {
        digest,
        size: logged_size,
        signature,
        key_id,
        created_ns,
        descriptors: logged,
    } = &proven.entry
    else {
        return Err(wrong(format!(
            "is no artifact publication ({}), yet the registry gives it as the proof of {}",
            kind(&proven.entry),
            served_digest
        )));
    };
    if *digest != served_digest {
        return Err(wrong(format!(
            "records artifact {digest}, not the binary served ({served_digest}): the registry gave the proof of another artifact"
        )));
    }
    if *logged_size != size {
        return Err(wrong(format!(
            "records {logged_size} bytes; the binary has {size}"
        )));
    }
    if logged != descriptors {
        return Err(wrong(format!(
            "records {}; the binary holds {}",
            labels(logged),
            labels(descriptors)
        )));
    }
    if *signature != served_signature {
        return Err(wrong(format!(
            "records signature {signature}; the registry gives {served_signature} for this binary (a swapped signature)"
        )));
    }
    Ok(PluginMetadata {
        digest: digest.clone(),
        signature: signature.clone(),
        created_at: chrono::DateTime::from_timestamp_nanos(*created_ns).naive_utc(),
        descriptors: logged.clone(),
        size,
        key_id: key_id.clone(),
        verified: key_id.is_some(),
        log_index: Some(index),
    })
}

fn kind(e: &LogEntry) -> &'static str {
    match e {
        LogEntry::Artifact { .. } => "artifact",
        LogEntry::Scan { .. } => "scan",
        LogEntry::Delete { .. } => "delete",
        LogEntry::Attestation { .. } => "attestation",
        LogEntry::EfiImage { .. } => "EFI image",
        LogEntry::EfiVars { .. } => "EFI variable update",
        LogEntry::Host { .. } => "host enrolment",
        LogEntry::Baseline { .. } => "baseline",
        LogEntry::Package { .. } => "package",
        LogEntry::PackageDelete { .. } => "package deletion",
        LogEntry::Policy { .. } => "trust policy",
    }
}

/// The registry's metadata answer must say what the bytes and the log say.
pub fn check_metadata(claimed: &PluginMetadata, verified: &PluginMetadata) -> Result<(), Refusal> {
    if claimed == verified {
        return Ok(());
    }
    if claimed.descriptors != verified.descriptors {
        return Err(Refusal::Metadata {
            field: "descriptors".into(),
            claimed: labels(&claimed.descriptors),
            actual: labels(&verified.descriptors),
        });
    }
    let (field, claimed, actual) = first_difference(claimed, verified).unwrap_or_default();
    Err(Refusal::Metadata {
        field,
        claimed,
        actual,
    })
}

/// Every descriptor must be allowed for the logged signature; the entry's key, if it names
/// one, must be a key the policy verified it with. The signer entry's name on success.
pub fn check_policy(
    policy: &Policy,
    meta: &PluginMetadata,
    descriptors: &[Descriptor],
    file: &Path,
) -> Result<String, Error> {
    let mut digest = [0u8; 32];
    hex::decode_to_slice(&meta.digest, &mut digest).map_err(|_| Refusal::Entry {
        index: meta.log_index.unwrap_or_default(),
        what: "records a digest that is not hex".into(),
    })?;
    let signature = hex::decode(&meta.signature).map_err(|_| Refusal::Entry {
        index: meta.log_index.unwrap_or_default(),
        what: "records a signature that is not hex".into(),
    })?;
    let now = chrono::Utc::now();
    crate::bytes::with_map(file, |bytes| {
        let mut signer = String::new();
        let mut keys = Vec::new();
        for d in descriptors {
            let artifact = Artifact {
                name: &d.name,
                version: Some(&d.version),
                digest: &digest,
                bytes: Some(bytes),
            };
            match policy.evaluate(&artifact, std::slice::from_ref(&signature), now) {
                Decision::Allowed { signer: s, keys: k } => {
                    signer = s;
                    keys.extend(k);
                }
                Decision::Denied(denial) => {
                    return Err(Error::from(Refusal::Policy {
                        plugin: label(d),
                        denial,
                    }));
                }
            }
        }
        if let Some(key) = &meta.key_id {
            if !keys.contains(key) {
                return Err(Refusal::Entry {
                    index: meta.log_index.unwrap_or_default(),
                    what: format!(
                        "records signing key {key}, but the signature verifies under policy key {}",
                        keys.first().map(String::as_str).unwrap_or("(none)")
                    ),
                }
                .into());
            }
        }
        Ok(signer)
    })?
}

impl Verified {
    /// Moves the plugin into `dir` as `<digest>.<ext>` and writes `<digest>.meta` beside it
    /// (the verified metadata, in memflow's shape). Each file appears whole or not at all.
    pub fn install(self, dir: &Path) -> Result<Installed, Error> {
        std::fs::create_dir_all(dir).map_err(Error::io(format!("creating {}", dir.display())))?;
        let ext = match self.descriptor.file_type {
            FileType::Pe => "dll",
            FileType::Mach => "dylib",
            FileType::Elf => "so",
        };
        let digest = &self.meta.digest;
        let target = dir.join(format!("{digest}.{ext}"));
        let meta_path = dir.join(format!("{digest}.meta"));
        let meta = serde_json::to_vec_pretty(&self.meta).map_err(|e| Error::Io {
            what: "encoding the metadata".into(),
            source: std::io::Error::other(e),
        })?;
        crate::bytes::persist(self.file, &target)?;
        crate::bytes::write_atomically(&meta_path, &meta)?;
        Ok(Installed {
            file: target,
            meta: meta_path,
        })
    }
}
