//! The transparency log for Secure Boot files: `--registry` on `cairn efi sign` and
//! `cairn efi auth` publishes what was written (the registry checks its signatures, stores
//! it and logs it) and prints the log index; `--log` on `cairn efi verify` proves that the
//! image was published, in the log the user pins, before it is judged against db and dbx.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use cairn_api::{EfiAdded, EfiFile};
use cairn_client::{Client, Error as ClientError};
use sha2::Digest as _;

use crate::common::files::map_file;

/// `--registry` and `--token` of `cairn efi sign` and `cairn efi auth`.
#[derive(Debug, Clone, clap::Args)]
pub struct Publish {
    /// Publish the written file to this registry (it checks the signatures, stores the file
    /// and logs it) and print its log index. Nothing is published without it.
    #[arg(long)]
    registry: Option<String>,
    /// The registry's write token [default: CAIRN_TOKEN, else the config file's token].
    #[arg(long, env = "CAIRN_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

/// `--log`, with the registry and the pinned log key, of `cairn efi verify`.
#[derive(Debug, Clone, clap::Args)]
pub struct LogCheck {
    /// Also prove that the image was published: its entry in the registry's transparency
    /// log, proven against the pinned log key and the checkpoints this client saw. Exit 1
    /// when it is not logged or the proof fails.
    #[arg(long, requires = "registry")]
    log: bool,
    /// With --log: the registry that published the image.
    #[arg(long, requires = "log")]
    registry: Option<String>,
    /// With --log: the registry's log verifier key (what `cairn log key` prints), or a file
    /// holding it.
    #[arg(long, requires = "log")]
    log_key: Option<String>,
    /// With --log: a trust policy whose pinned log (`[log] key`) proves the entry.
    #[arg(long, requires = "log", conflicts_with = "log_key")]
    trust: Option<PathBuf>,
}

impl LogCheck {
    /// Whether `--log` was given.
    pub fn wanted(&self) -> bool {
        self.log
    }
}

fn client(args: &Publish, registry: &str) -> anyhow::Result<Client> {
    let token = match &args.token {
        Some(t) => Some(t.clone()),
        None => crate::common::remote::config()?.token,
    };
    let client = Client::new(registry)?.with_token(token);
    client.require_token()?;
    Ok(client)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new().context("starting the async runtime")
}

/// Publishes the signed image at `path`, when `--registry` was given.
pub fn publish_image(args: &Publish, path: &Path) -> anyhow::Result<()> {
    let Some(registry) = &args.registry else {
        return Ok(());
    };
    let client = client(args, registry)?;
    let bar = Arc::new(crate::common::remote::Bar::new("publishing"));
    let added = runtime()?
        .block_on(client.push_efi_image(path, bar))
        .with_context(|| format!("publishing {} to {registry}", path.display()))?;
    report(path, &added);
    Ok(())
}

/// Publishes the signed update of `var` at `path`, when `--registry` was given.
pub fn publish_update(
    args: &Publish,
    path: &Path,
    var: cairn_efi::auth::Variable,
    append: bool,
) -> anyhow::Result<()> {
    let Some(registry) = &args.registry else {
        return Ok(());
    };
    let client = client(args, registry)?;
    let added = runtime()?
        .block_on(client.push_efi_vars(path, var.name(), append))
        .with_context(|| format!("publishing {} to {registry}", path.display()))?;
    report(path, &added);
    Ok(())
}

fn report(path: &Path, added: &EfiAdded) {
    let index = added
        .file
        .log_index()
        .map_or_else(|| "?".to_owned(), |i| i.to_string());
    let what = match added.outcome {
        cairn_api::UploadOutcome::Added => "published",
        cairn_api::UploadOutcome::AlreadyExists => "already published",
    };
    let signers = match &added.file {
        EfiFile::EfiImage(i) => i.signers.join(", "),
        EfiFile::EfiVars(v) => v.signer.clone(),
    };
    println!(
        "{} {what}: log entry {index}, signed by {signers}",
        path.display()
    );
}

/// The pinned log key: `--log-key` (the key, or a file holding it), else `--trust`'s.
fn log_key(args: &LogCheck) -> anyhow::Result<cairn_tlog::NoteVerifier> {
    let text = match (&args.log_key, &args.trust) {
        (Some(key), _) => match cairn_tlog::NoteVerifier::parse(key) {
            Ok(v) => return Ok(v),
            Err(_) => std::fs::read_to_string(key).with_context(|| {
                format!("--log-key {key:?} is neither a log verifier key nor a file holding one")
            })?,
        },
        (None, Some(trust)) => crate::common::trust::policy(Some(trust.clone()))?
            .log_key()
            .context("the trust policy pins no log ([log] key): the entry must be proven in one")?
            .to_owned(),
        (None, None) => anyhow::bail!(
            "--log needs the log to prove the entry in: --log-key KEY (what `cairn log key` \
             prints) or --trust POLICY"
        ),
    };
    cairn_tlog::NoteVerifier::parse(text.trim()).context("the log key")
}

/// Proves that `image` was published. `Ok(false)` (said on stdout) when the registry or the
/// log refuses it: not logged, or a proof that does not hold.
pub fn check(args: &LogCheck, image: &Path) -> anyhow::Result<bool> {
    let registry = args
        .registry
        .as_deref()
        .context("--log needs --registry URL")?;
    let log = log_key(args)?;
    let state = crate::common::trust::log_state()?;
    let (digest, size, authenticode) = {
        let map = map_file(image)?;
        let authenticode = cairn_efi::authenticode::digest(&map)
            .with_context(|| format!("{} is not an EFI image", image.display()))?;
        (
            hex::encode(sha2::Sha256::digest(&*map)),
            map.len() as u64,
            hex::encode(authenticode),
        )
    };
    let client = Client::new(registry)?;
    let measured = cairn_client::efi::Image {
        digest: &digest,
        size,
        authenticode: &authenticode,
    };
    let proven = runtime()?.block_on(cairn_client::efi::prove_image(
        &client, measured, &log, &state,
    ));
    match proven {
        Ok(published) => {
            println!(
                "{}: published: log entry {} (checkpoint of {} entries), signed by {}",
                image.display(),
                published.index,
                published.checkpoint.size,
                published.signers.join(", ")
            );
            Ok(true)
        }
        Err(ClientError::Refused(refusal)) => {
            println!("{}: REFUSED: {refusal}", image.display());
            Ok(false)
        }
        Err(e) => Err(e).with_context(|| format!("proving {} published", image.display())),
    }
}
