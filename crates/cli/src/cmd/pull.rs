//! `cairn pull`: fetch a plugin and prove it before keeping it.
//!
//! The checks run in this order and stop at the first failure, naming it:
//! 1. the bytes' SHA-256 against the digest asked for;
//! 2. the signature against the user's OWN trust policy (deny list first);
//! 3. the artifact's log entry, its inclusion proof and the checkpoint signature against the
//!    log key pinned in the policy;
//! 4. consistency of that checkpoint with the last one this client saved.
//!
//! The download goes to a temporary file outside `--out`; only when every check passed is it
//! moved into place, with its memflow-compatible `.meta` sidecar.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use base64::Engine as _;
use cairn_sign::policy::{Artifact, Decision, Policy};
use cairn_tlog::{Hash, NoteVerifier};
use futures::StreamExt as _;
use sha2::Digest as _;

use super::publish::{Filters, urlencode};
use super::remote::{Remote, RemoteArgs, host, progress, state_dir};

/// Arguments of `cairn pull`.
#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// NAME or NAME:VERSION.
    plugin: String,
    /// The trust policy to check against [config: trust].
    #[arg(long)]
    trust: Option<PathBuf>,
    /// Directory to write the plugin and its `.meta` into.
    #[arg(long, default_value = ".")]
    out: PathBuf,
    #[command(flatten)]
    filters: Filters,
    /// Print what was written as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    remote: RemoteArgs,
}

/// Runs `cairn pull`.
pub fn pull(mut args: PullArgs) -> anyhow::Result<ExitCode> {
    let remote = Remote::new(&args.remote)?;
    let trust = match args.trust.take() {
        Some(t) => t,
        None => super::remote::config()?.trust.context(
            "no trust policy: pass --trust POLICY or put trust = \"FILE\" in the config file",
        )?,
    };
    let policy = super::trust::load(&trust)?;
    let now = chrono::Utc::now();
    policy
        .verify(now)
        .with_context(|| format!("trust policy {}", trust.display()))?;
    let (name, version) = match args.plugin.split_once(':') {
        Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
        None => (args.plugin.clone(), None),
    };
    let mut filters = args.filters.clone();
    filters.version = version.or(filters.version);
    let (ft, arch) = host();
    filters.file_type.get_or_insert_with(|| ft.to_owned());
    filters.architecture.get_or_insert_with(|| arch.to_owned());
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;

    remote.runtime.block_on(async {
        let found = remote
            .get_json(&format!("/plugins/{}?{}", urlencode(&name), filters.query(1)))
            .await?;
        let variant = found["plugins"]
            .get(0)
            .cloned()
            .ok_or_else(|| anyhow!("no plugin {name} matches ({})", filters.query(1)))?;
        let digest = variant["digest"].as_str().unwrap_or_default().to_owned();
        super::publish::check_digest(&digest)?;
        let signature = variant["signature"].as_str().unwrap_or_default().to_owned();
        let descriptor = &variant["descriptor"];

        // 1. Bytes against the digest.
        let tmp = download(&remote, &digest).await?;
        // 2. Signature against the user's own policy.
        check_signature(&policy, &name, descriptor, &digest, &signature, tmp.path(), now)?;
        // 3 and 4. The log.
        match policy.log_key() {
            Some(vkey) => check_log(&remote, vkey, &digest, &signature).await?,
            None => eprintln!("cairn: warning: the trust policy pins no log ([log] key): log checks skipped"),
        }
        let meta = remote.get_json(&format!("/files/{digest}/metadata")).await?;
        let ext = match descriptor["file_type"].as_str() {
            Some("pe") => "dll",
            Some("mach") => "dylib",
            _ => "so",
        };
        let target = args.out.join(format!("{digest}.{ext}"));
        persist(tmp, &target)?;
        let meta_path = args.out.join(format!("{digest}.meta"));
        std::fs::write(&meta_path, serde_json::to_vec_pretty(&meta)?)
            .with_context(|| format!("writing {}", meta_path.display()))?;
        if args.json {
            println!(
                "{}",
                serde_json::json!({"digest": digest, "file": target, "meta": meta_path, "name": name,
                    "version": descriptor["version"]})
            );
        } else {
            println!(
                "{} {} verified and written to {}",
                name,
                descriptor["version"].as_str().unwrap_or(""),
                target.display()
            );
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Streams the blob into a temporary file (outside `--out`), checking its SHA-256.
async fn download(remote: &Remote, digest: &str) -> anyhow::Result<tempfile::NamedTempFile> {
    let url = format!("{}/files/{digest}", remote.base);
    let r = remote
        .http
        .get(&url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    if !r.status().is_success() {
        bail!("GET {url}: {}", r.status());
    }
    let bar = progress(r.content_length().unwrap_or(0), &digest[..12]);
    let mut tmp = tempfile::NamedTempFile::new().context("creating a temporary file")?;
    let mut hasher = sha2::Sha256::new();
    let mut body = r.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.with_context(|| format!("GET {url}"))?;
        hasher.update(&chunk);
        tmp.write_all(&chunk).context("writing the download")?;
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let got = hex::encode(hasher.finalize());
    if got != digest {
        bail!("digest mismatch: the registry served bytes whose SHA-256 is {got}, not {digest}");
    }
    tmp.as_file().sync_all()?;
    Ok(tmp)
}

fn check_signature(
    policy: &Policy,
    name: &str,
    descriptor: &serde_json::Value,
    digest: &str,
    signature: &str,
    file: &Path,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    let mut d = [0u8; 32];
    hex::decode_to_slice(digest, &mut d)?;
    let sig = hex::decode(signature)
        .map_err(|_| anyhow!("signature check failed: the registry's signature is not hex"))?;
    let f = std::fs::File::open(file)?;
    // SAFETY: our own temporary file, which nothing else writes.
    #[allow(unsafe_code)]
    let bytes = unsafe { memmap2::Mmap::map(&f) }?;
    let decision = policy.evaluate(
        &Artifact {
            name,
            version: descriptor["version"].as_str(),
            digest: &d,
            bytes: Some(&bytes),
        },
        &[sig],
        now,
    );
    match decision {
        Decision::Allowed { .. } => Ok(()),
        Decision::Denied(why) => {
            bail!("signature check failed: refused by the trust policy: {why}")
        }
    }
}

fn b64_hashes(v: &serde_json::Value) -> anyhow::Result<Vec<Hash>> {
    v.as_array()
        .context("proof is not a list")?
        .iter()
        .map(|h| {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(h.as_str().unwrap_or_default())
                .map_err(|_| anyhow!("proof hash is not base64"))?;
            Hash::try_from(raw.as_slice()).map_err(|_| anyhow!("proof hash is not 32 bytes"))
        })
        .collect()
}

/// The log entry, its inclusion proof, the checkpoint signature, and consistency with the
/// last checkpoint this client saw.
async fn check_log(
    remote: &Remote,
    vkey: &str,
    digest: &str,
    signature: &str,
) -> anyhow::Result<()> {
    fn fail(what: &'static str) -> impl Fn(anyhow::Error) -> anyhow::Error {
        move |e| anyhow!("log check failed: {what}: {e:#}")
    }
    let verifier = NoteVerifier::parse(vkey).map_err(|e| anyhow!("the policy's log key: {e}"))?;
    let p = remote
        .get_json(&format!("/files/{digest}/proof"))
        .await
        .map_err(fail("no proof of publication"))?;
    let checkpoint_text = p["checkpoint"].as_str().unwrap_or_default();
    let cp = cairn_tlog::verify::open_checkpoint(checkpoint_text.as_bytes(), &verifier)
        .map_err(|e| anyhow!("log check failed: checkpoint signature: {e}"))?;
    let entry = &p["entry"];
    if entry["kind"] != "artifact" || entry["digest"] != digest || entry["signature"] != signature {
        bail!("log check failed: the log entry does not record this artifact and signature");
    }
    let index = p["index"].as_u64().context("log check failed: no index")?;
    let leaf = cairn_tlog::merkle::leaf_hash(&cairn_tlog::entry::canonical(entry));
    let proof = b64_hashes(&p["proof"]).map_err(fail("inclusion proof"))?;
    cairn_tlog::merkle::verify_inclusion(index, cp.size, &leaf, &proof, &cp.root)
        .map_err(|e| anyhow!("log check failed: inclusion proof: {e}"))?;
    check_consistency(remote, &verifier, checkpoint_text, &cp).await
}

async fn check_consistency(
    remote: &Remote,
    verifier: &NoteVerifier,
    text: &str,
    cp: &cairn_tlog::Checkpoint,
) -> anyhow::Result<()> {
    let dir = state_dir()?.join("checkpoints");
    let file = dir.join(format!("{:08x}", verifier.id()));
    if let Ok(saved) = std::fs::read(&file) {
        let old = cairn_tlog::verify::open_checkpoint(&saved, verifier).map_err(|e| {
            anyhow!(
                "consistency check failed: the saved checkpoint {}: {e}",
                file.display()
            )
        })?;
        if old.size > cp.size {
            bail!(
                "consistency check failed: the log shrank from {} to {} entries since this client last saw it",
                old.size,
                cp.size
            );
        }
        if old.size == cp.size && old.root != cp.root {
            bail!(
                "consistency check failed: the log forked: same size {}, different root",
                cp.size
            );
        }
        if old.size < cp.size && old.size > 0 {
            let proof = remote
                .get_json(&format!(
                    "/log/proof/consistency?from={}&to={}",
                    old.size, cp.size
                ))
                .await
                .map_err(|e| anyhow!("consistency check failed: {e:#}"))?;
            let proof = b64_hashes(&proof["proof"])?;
            cairn_tlog::merkle::verify_consistency(old.size, cp.size, &old.root, &cp.root, &proof)
                .map_err(|e| anyhow!("consistency check failed: {e}"))?;
        }
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = file.with_extension("tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, &file))
        .with_context(|| format!("saving the checkpoint to {}", file.display()))
}

/// Moves the verified temporary file to `target` (copying across filesystems).
fn persist(tmp: tempfile::NamedTempFile, target: &Path) -> anyhow::Result<()> {
    match tmp.persist(target) {
        Ok(_) => Ok(()),
        Err(e) => {
            let staged = target.with_extension("partial");
            std::fs::copy(e.file.path(), &staged)
                .and_then(|_| std::fs::File::open(&staged)?.sync_all())
                .and_then(|()| std::fs::rename(&staged, target))
                .with_context(|| format!("writing {}", target.display()))
        }
    }
}
