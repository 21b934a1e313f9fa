//! `cairn push`, `ls`, `info`, `rm`: the memflow-registry HTTP API from the command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use cairn_sign::PrivateKey;

use crate::common::files::sha256_file;
use crate::common::filters::Filters;
use crate::common::passphrase::PassphraseArgs;
use crate::common::remote::{Bar, Remote, RemoteArgs};
use crate::common::signature::{SignatureFormat, sign_file};

/// Arguments of `cairn push`.
#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// Plugin binaries to upload (or, with --name, the one package file).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Private key to sign with (plugins: ECDSA, as the registry takes hex DER signatures).
    #[arg(long, required_unless_present = "signature")]
    key: Option<PathBuf>,
    /// Publish a package of this name (any file, detached signatures) instead of plugins.
    #[arg(long, requires = "package_version")]
    name: Option<String>,
    /// The package's version (semver).
    #[arg(long = "version", id = "package_version", requires = "name")]
    package_version: Option<String>,
    /// How --key signs a package [default: openpgp].
    #[arg(long, value_enum, requires = "name")]
    format: Option<SignatureFormat>,
    /// A detached signature file made elsewhere (`gpg --detach-sign`, openssl), sent with
    /// the package; repeatable.
    #[arg(long, requires = "name")]
    signature: Vec<PathBuf>,
    /// The package's media type [default: guessed by the registry from the file name].
    #[arg(long, requires = "name")]
    media_type: Option<String>,
    #[command(flatten)]
    passphrase: PassphraseArgs,
    #[command(flatten)]
    remote: RemoteArgs,
}

/// Arguments of `cairn ls`.
#[derive(Debug, clap::Args)]
pub struct LsArgs {
    /// A plugin name: list its variants (without: list plugin names).
    name: Option<String>,
    #[command(flatten)]
    filters: Filters,
    /// Most variants to list.
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// Print the registry's JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    remote: RemoteArgs,
}

/// Arguments of `cairn info`.
#[derive(Debug, clap::Args)]
pub struct InfoArgs {
    /// SHA-256 digest of the file.
    digest: String,
    /// Print the registry's JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    remote: RemoteArgs,
}

/// Arguments of `cairn rm`.
#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// SHA-256 digest of the plugin file to delete, or NAME:VERSION of a package.
    digest: String,
    #[command(flatten)]
    remote: RemoteArgs,
}

fn private_key(path: &Path, passphrase: &PassphraseArgs) -> anyhow::Result<PrivateKey> {
    let pass = passphrase.read()?;
    Ok(PrivateKey::from_pem_file(
        path,
        pass.as_ref().map(|p| p.bytes()).as_deref(),
    )?)
}

/// Runs `cairn push`.
pub fn push(args: PushArgs) -> anyhow::Result<ExitCode> {
    let remote = Remote::new(&args.remote)?;
    remote.client.require_token()?;
    if let Some(name) = &args.name {
        return push_package(&remote, name, &args);
    }
    let path = args.key.as_deref().context("plugins need --key")?;
    let key = private_key(path, &args.passphrase)?;
    if key.algorithm() == cairn_sign::Algorithm::Ed25519 {
        bail!("the registry takes ECDSA signatures (hex DER): push with a secp256k1 or P-256 key");
    }
    let mut failed = false;
    for file in &args.files {
        let signature = hex::encode(key.sign_digest(&sha256_file(file)?)?);
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let answer = remote.runtime.block_on(remote.client.push(
            file,
            &signature,
            Arc::new(Bar::new(&name)),
        ));
        match answer {
            Ok(outcome) => println!("{}: {outcome}", file.display()),
            Err(e) => {
                eprintln!("cairn: {}: {e:#}", file.display());
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `cairn push FILE --name N --version V`: one package with every signature given and,
/// with --key, one made now.
fn push_package(remote: &Remote, name: &str, args: &PushArgs) -> anyhow::Result<ExitCode> {
    let [file] = args.files.as_slice() else {
        bail!("a package is one file: push one at a time with --name");
    };
    let mut signatures = Vec::new();
    for path in &args.signature {
        signatures
            .push(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?);
    }
    if let Some(path) = &args.key {
        let key = private_key(path, &args.passphrase)?;
        let format = args.format.unwrap_or(SignatureFormat::Openpgp);
        signatures.push(sign_file(&key, file, format)?);
    }
    let file_name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let upload = cairn_client::PackageUpload {
        name: name.to_owned(),
        version: args.package_version.clone().unwrap_or_default(),
        file_name: file_name.clone(),
        media_type: args.media_type.clone(),
        signatures,
    };
    let added = remote.runtime.block_on(remote.client.push_package(
        file,
        &upload,
        Arc::new(Bar::new(&file_name)),
    ))?;
    let p = &added.package;
    println!(
        "{} {} ({}): {} as log entry {}",
        p.name,
        p.version,
        p.file,
        added.outcome,
        p.log_index
            .map_or_else(|| "(none)".into(), |i| i.to_string())
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `cairn ls`.
pub fn ls(args: LsArgs) -> anyhow::Result<ExitCode> {
    let remote = Remote::new(&args.remote)?;
    let Some(name) = &args.name else {
        let list = remote.runtime.block_on(remote.client.plugins())?;
        if args.json {
            println!("{}", serde_json::to_string(&list)?);
        } else {
            for p in &list.plugins {
                println!("{:<30} {}", p.name, p.description);
            }
        }
        return Ok(ExitCode::SUCCESS);
    };
    let query = args.filters.query(args.limit)?;
    let list = remote.runtime.block_on(remote.client.find(name, &query))?;
    if args.json {
        println!("{}", serde_json::to_string(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    for p in &list.plugins {
        let d = &p.descriptor;
        println!(
            "{} {:<12} abi {:<3} {:<5} {:<7} {}",
            p.digest.get(..12).unwrap_or(&p.digest),
            d.version,
            d.plugin_version,
            d.file_type.as_str(),
            d.architecture.to_key(),
            p.created_at
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `cairn info`: the registry's metadata, as it says (nothing is verified here; `cairn
/// pull` proves what it installs).
pub fn info(args: InfoArgs) -> anyhow::Result<ExitCode> {
    cairn_client::check_digest(&args.digest)?;
    let remote = Remote::new(&args.remote)?;
    let meta = remote
        .runtime
        .block_on(remote.client.metadata(&args.digest))?;
    if args.json {
        println!("{}", serde_json::to_string(&meta)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("digest     {}", meta.digest);
    println!("size       {}", meta.size);
    println!("created    {}", meta.created_at);
    println!("signature  {}", meta.signature);
    println!(
        "key        {}",
        meta.key_id.as_deref().unwrap_or("(unverified)")
    );
    match meta.log_index {
        Some(i) => println!("log index  {i}"),
        None => println!("log index  (none)"),
    }
    for d in &meta.descriptors {
        println!(
            "plugin     {} {} ({} {} {}, abi {})",
            d.name,
            d.version,
            d.plugin_kind.as_str(),
            d.file_type.as_str(),
            d.architecture.to_key(),
            d.plugin_version
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `cairn rm`.
pub fn rm(args: RmArgs) -> anyhow::Result<ExitCode> {
    let remote = Remote::new(&args.remote)?;
    if let Some((name, version)) = args.digest.split_once(':') {
        remote
            .runtime
            .block_on(remote.client.delete_package(name, version))?;
        println!("deleted {name} {version}");
        return Ok(ExitCode::SUCCESS);
    }
    cairn_client::check_digest(&args.digest)?;
    remote
        .runtime
        .block_on(remote.client.delete(&args.digest))?;
    println!("deleted {}", args.digest);
    Ok(ExitCode::SUCCESS)
}
