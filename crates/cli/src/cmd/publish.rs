//! `cairn push`, `ls`, `info`, `rm`: the memflow-registry HTTP API from the command line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use futures::StreamExt as _;

use super::keys::{PassphraseArgs, sha256_file};
use super::remote::{Remote, RemoteArgs, progress};

/// Arguments of `cairn push`.
#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// Plugin binaries to upload.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Private key to sign with (ECDSA: the registry takes hex DER signatures).
    #[arg(long)]
    key: PathBuf,
    #[command(flatten)]
    passphrase: PassphraseArgs,
    #[command(flatten)]
    remote: RemoteArgs,
}

/// Filters shared by `ls` and `pull`.
#[derive(Debug, Clone, clap::Args)]
pub struct Filters {
    /// Plugin version (`pull` also takes NAME:VERSION).
    #[arg(long = "plugin-version", id = "plugin_version")]
    pub version: Option<String>,
    /// File type: elf, pe, mach.
    #[arg(long)]
    pub file_type: Option<String>,
    /// Architecture: x86_64, x86, arm64, arm.
    #[arg(long)]
    pub architecture: Option<String>,
    /// memflow plugin ABI version.
    #[arg(long)]
    pub abi: Option<i32>,
}

impl Filters {
    /// The query string for `/plugins/{name}`.
    pub fn query(&self, limit: u32) -> String {
        let mut q = vec![format!("limit={limit}")];
        let mut add = |k: &str, v: &str| q.push(format!("{k}={}", urlencode(v)));
        if let Some(v) = &self.version {
            add("version", v);
        }
        if let Some(v) = &self.file_type {
            add("file_type", v);
        }
        if let Some(v) = &self.architecture {
            add("architecture", v);
        }
        if let Some(v) = self.abi {
            add("memflow_plugin_version", &v.to_string());
        }
        q.join("&")
    }
}

/// Percent-encodes everything but unreserved characters.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
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
    /// SHA-256 digest of the file to delete.
    digest: String,
    #[command(flatten)]
    remote: RemoteArgs,
}

/// Checks a digest argument before it goes into a URL.
pub fn check_digest(d: &str) -> anyhow::Result<()> {
    if d.len() != 64 || !d.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("{d:?} is not a SHA-256 digest (64 hex digits)");
    }
    Ok(())
}

/// Runs `cairn push`.
pub fn push(args: PushArgs) -> anyhow::Result<ExitCode> {
    let remote = Remote::new(&args.remote)?;
    let token = remote.token()?.to_owned();
    let pass = args.passphrase.read()?;
    let key = cairn_sign::PrivateKey::from_pem_file(
        &args.key,
        pass.as_ref().map(|p| p.bytes()).as_deref(),
    )?;
    drop(pass);
    if key.algorithm() == cairn_sign::Algorithm::Ed25519 {
        bail!("the registry takes ECDSA signatures (hex DER): push with a secp256k1 or P-256 key");
    }
    let mut failed = false;
    for file in &args.files {
        let signature = hex::encode(key.sign_digest(&sha256_file(file)?)?);
        let answer = remote
            .runtime
            .block_on(upload(&remote, &token, file, signature));
        match answer {
            Ok(text) => println!("{}: {text}", file.display()),
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

async fn upload(
    remote: &Remote,
    token: &str,
    file: &std::path::Path,
    signature: String,
) -> anyhow::Result<String> {
    let f = tokio::fs::File::open(file)
        .await
        .with_context(|| format!("reading {}", file.display()))?;
    let len = f.metadata().await?.len();
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plugin".into());
    let bar = progress(len, &name);
    let shown = bar.clone();
    let stream = tokio_util::io::ReaderStream::new(f).inspect(move |chunk| {
        if let Ok(c) = chunk {
            shown.inc(c.len() as u64);
        }
    });
    let part =
        reqwest::multipart::Part::stream_with_length(reqwest::Body::wrap_stream(stream), len)
            .file_name(name);
    let form = reqwest::multipart::Form::new()
        .part("file", part)
        .text("signature", signature);
    let url = format!("{}/files", remote.base);
    let r = remote
        .http
        .post(&url)
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    bar.finish_and_clear();
    let status = r.status();
    let text = r.text().await?;
    if !status.is_success() {
        bail!("{status}: {}", text.trim());
    }
    Ok(text.trim().trim_matches('"').to_owned())
}

/// Runs `cairn ls`.
pub fn ls(args: LsArgs) -> anyhow::Result<ExitCode> {
    let remote = Remote::new(&args.remote)?;
    let path = match &args.name {
        None => "/plugins".to_owned(),
        Some(name) => format!(
            "/plugins/{}?{}",
            urlencode(name),
            args.filters.query(args.limit)
        ),
    };
    let answer = remote.runtime.block_on(remote.get_json(&path))?;
    if args.json {
        println!("{answer}");
        return Ok(ExitCode::SUCCESS);
    }
    let plugins = answer["plugins"].as_array().cloned().unwrap_or_default();
    for p in &plugins {
        if args.name.is_none() {
            println!(
                "{:<30} {}",
                p["name"].as_str().unwrap_or(""),
                p["description"].as_str().unwrap_or("")
            );
        } else {
            let d = &p["descriptor"];
            println!(
                "{} {:<12} abi {:<3} {:<5} {:<7} {}",
                &p["digest"].as_str().unwrap_or("")
                    [..12.min(p["digest"].as_str().unwrap_or("").len())],
                d["version"].as_str().unwrap_or(""),
                d["plugin_version"],
                d["file_type"].as_str().unwrap_or(""),
                d["architecture"].as_str().unwrap_or(""),
                p["created_at"].as_str().unwrap_or("")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `cairn info`.
pub fn info(args: InfoArgs) -> anyhow::Result<ExitCode> {
    check_digest(&args.digest)?;
    let remote = Remote::new(&args.remote)?;
    let meta = remote
        .runtime
        .block_on(remote.get_json(&format!("/files/{}/metadata", args.digest)))?;
    if args.json {
        println!("{meta}");
        return Ok(ExitCode::SUCCESS);
    }
    println!("digest     {}", meta["digest"].as_str().unwrap_or(""));
    println!("size       {}", meta["size"]);
    println!("created    {}", meta["created_at"].as_str().unwrap_or(""));
    println!("signature  {}", meta["signature"].as_str().unwrap_or(""));
    println!(
        "key        {}",
        meta["key_id"].as_str().unwrap_or("(unverified)")
    );
    println!("log index  {}", meta["log_index"]);
    for d in meta["descriptors"].as_array().cloned().unwrap_or_default() {
        println!(
            "plugin     {} {} ({} {} {}, abi {})",
            d["name"].as_str().unwrap_or(""),
            d["version"].as_str().unwrap_or(""),
            d["plugin_kind"].as_str().unwrap_or(""),
            d["file_type"].as_str().unwrap_or(""),
            d["architecture"].as_str().unwrap_or(""),
            d["plugin_version"]
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `cairn rm`.
pub fn rm(args: RmArgs) -> anyhow::Result<ExitCode> {
    check_digest(&args.digest)?;
    let remote = Remote::new(&args.remote)?;
    let token = remote.token()?.to_owned();
    let url = format!("{}/files/{}", remote.base, args.digest);
    let (status, text) = remote.runtime.block_on(async {
        let r = remote.http.delete(&url).bearer_auth(&token).send().await?;
        let status = r.status();
        anyhow::Ok((status, r.text().await?))
    })?;
    if !status.is_success() {
        bail!("DELETE {url}: {status}: {}", text.trim());
    }
    println!("deleted {}", args.digest);
    Ok(ExitCode::SUCCESS)
}
