//! `cairn-bench`: loads a running `cairn serve` through its HTTP API, the way publishers do.
//!
//! `populate` makes `names × per-name` distinct, valid, signed plugin binaries from the test
//! fixtures (name and version strings patched in place, a tag appended so every digest
//! differs) and uploads them concurrently. The read-side measurement is done by `wrk`
//! (see `scripts/bench`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Parser;
use futures::stream::{self, StreamExt};
use k256::ecdsa::signature::hazmat::PrehashSigner;
use k256::ecdsa::{Signature, SigningKey};
use k256::pkcs8::DecodePrivateKey;
use sha2::{Digest as _, Sha256};

/// Load generator for cairn serve.
#[derive(Debug, Parser)]
enum Cli {
    /// Upload NAMES × PER_NAME distinct signed plugins.
    Populate {
        /// Registry URL.
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        /// Write token.
        #[arg(long)]
        token: String,
        /// PKCS#8 PEM secp256k1 private key to sign with.
        #[arg(long)]
        key: PathBuf,
        /// Directory holding the fixture plugins.
        #[arg(long, default_value = "tests/fixtures/memflow-plugins")]
        fixtures: PathBuf,
        /// Distinct plugin names.
        #[arg(long, default_value_t = 200)]
        names: usize,
        /// Variants per name.
        #[arg(long, default_value_t = 100)]
        per_name: usize,
        /// Uploads in flight.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
    },
}

/// A fixture whose name and version strings can be patched in place.
struct Template {
    bytes: Vec<u8>,
    name_at: usize,
    version_at: usize,
}

fn template(path: &std::path::Path) -> anyhow::Result<Template> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let find = |needle: &[u8]| bytes.windows(needle.len()).position(|w| w == needle);
    let name_at = find(b"synthc").context("no name string")?;
    let version_at = find(b"1.2.3").context("no version string")?;
    Ok(Template {
        bytes,
        name_at,
        version_at,
    })
}

/// Variant `v` of plugin `n`: 50 % ELF x86_64, 25 % PE x86_64, 25 % ELF arm64.
fn make(templates: &[Template], n: usize, v: usize) -> anyhow::Result<Vec<u8>> {
    let t = &templates[[0, 0, 1, 2][v % 4]];
    let mut bytes = t.bytes.clone();
    bytes[t.name_at..t.name_at + 6].copy_from_slice(format!("bn{n:04}").as_bytes());
    let version = format!("{}.{}.{}", v / 100 % 10, v / 10 % 10, v % 10);
    bytes[t.version_at..t.version_at + 5].copy_from_slice(version.as_bytes());
    bytes.extend_from_slice(&((n as u64) << 32 | v as u64).to_le_bytes());
    let found = cairn_plugin::analyze(&bytes)?;
    if found.len() != 1 || found[0].name != format!("bn{n:04}") || found[0].version != version {
        bail!("patching the template did not give the expected descriptor: {found:?}");
    }
    Ok(bytes)
}

fn sign(key: &SigningKey, bytes: &[u8]) -> anyhow::Result<String> {
    let sig: Signature = key.sign_prehash(&Sha256::digest(bytes))?;
    Ok(sig
        .to_der()
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Cli::Populate {
        url,
        token,
        key,
        fixtures,
        names,
        per_name,
        concurrency,
    } = Cli::parse();
    let key = SigningKey::from_pkcs8_pem(&std::fs::read_to_string(&key)?)
        .map_err(|e| anyhow::anyhow!("reading the signing key: {e}"))?;
    let templates = Arc::new(vec![
        template(&fixtures.join("libmemflow_synthc.x86_64.so"))?,
        template(&fixtures.join("memflow_synthc.x86_64.dll"))?,
        template(&fixtures.join("libmemflow_synthc.aarch64.so"))?,
    ]);
    let client = reqwest::Client::new();
    let started = Instant::now();
    let jobs = (0..names).flat_map(|n| (0..per_name).map(move |v| (n, v)));
    let results: Vec<anyhow::Result<()>> = stream::iter(jobs)
        .map(|(n, v)| {
            let (client, url, token, templates, key) = (
                client.clone(),
                url.clone(),
                token.clone(),
                templates.clone(),
                key.clone(),
            );
            async move {
                let bytes = make(&templates, n, v)?;
                let signature = sign(&key, &bytes)?;
                let form = reqwest::multipart::Form::new()
                    .part(
                        "file",
                        reqwest::multipart::Part::bytes(bytes).file_name("p.so"),
                    )
                    .text("signature", signature);
                let r = client
                    .post(format!("{url}/files"))
                    .bearer_auth(&token)
                    .multipart(form)
                    .send()
                    .await?;
                let status = r.status();
                let body = r.text().await?;
                if !status.is_success() {
                    bail!("upload {n}/{v}: {status} {body}");
                }
                Ok(())
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let failures: Vec<_> = results.into_iter().filter_map(Result::err).collect();
    let total = names * per_name;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "uploaded {} variants in {secs:.1} s ({:.0}/s)",
        total - failures.len(),
        total as f64 / secs
    );
    if let Some(e) = failures.first() {
        bail!("{} uploads failed; first: {e:#}", failures.len());
    }
    Ok(())
}
