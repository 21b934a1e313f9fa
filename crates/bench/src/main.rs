//! `cairn-bench`: loads a running `cairn serve` through its HTTP API, the way publishers do.
//!
//! `populate` makes `names × per-name` distinct, valid, signed plugin binaries from the test
//! fixtures (name and version strings patched in place, a tag appended so every digest
//! differs) and uploads them concurrently. The read-side measurement is done by `wrk`
//! (see `scripts/bench`). `make-log` and `search` measure the log's search index on a
//! generated million-entry log (see `scripts/bench-search`).

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

mod make_log;
mod search;

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
    /// Write the public key (SPKI PEM) that `attest` signs with, for `serve --public-key`.
    AttestKey {
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Submit signed DSSE attestations from N concurrent submitters for a while; report
    /// entries/s and submit-to-checkpoint latency percentiles.
    Attest {
        /// Registry URL.
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        /// Write token.
        #[arg(long)]
        token: String,
        /// Concurrent submitters.
        #[arg(long, default_value_t = 64)]
        submitters: usize,
        /// Duration in seconds.
        #[arg(long, default_value_t = 15)]
        seconds: u64,
        /// Pause between one submitter's submissions, in ms (light load).
        #[arg(long, default_value_t = 0)]
        pause_ms: u64,
    },
    /// Write a data directory whose log holds N generated entries (then run
    /// `cairn admin reindex` on it).
    MakeLog {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Entries.
        #[arg(long, default_value_t = 1_000_000)]
        entries: u64,
        /// Distinct signer keys.
        #[arg(long, default_value_t = 1000)]
        signers: u64,
    },
    /// Search a registry made by `make-log` by random signer keys, from N concurrent
    /// clients for a while; report searches/s and latency percentiles.
    Search {
        /// Registry URL.
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        /// Distinct signer keys the log was made with.
        #[arg(long, default_value_t = 1000)]
        signers: u64,
        /// Extra query fields (`limit=500`, `proofs=true`).
        #[arg(long, default_value = "")]
        extra: String,
        /// Concurrent clients.
        #[arg(long, default_value_t = 1)]
        clients: usize,
        /// Duration in seconds.
        #[arg(long, default_value_t = 15)]
        seconds: u64,
    },
}

/// Fixed bench signing key: the server trusts its public half (`attest-key`).
fn attest_key() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[9; 32])
}

fn envelope(key: &ed25519_dalek::SigningKey, n: u64) -> Vec<u8> {
    use base64::Engine;
    use ed25519_dalek::Signer as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let ty = "application/vnd.in-toto+json";
    let payload = serde_json::to_vec(&serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": format!("bench-{n}"), "digest": {"sha256": format!("{n:064x}")}}],
        "predicateType": "https://example.invalid/bench", "predicate": {}
    }))
    .unwrap_or_default();
    let mut pae = format!("DSSEv1 {} {ty} {} ", ty.len(), payload.len()).into_bytes();
    pae.extend_from_slice(&payload);
    let sig = key.sign(&pae);
    serde_json::to_vec(&serde_json::json!({"payloadType": ty, "payload": b64.encode(&payload), "signatures": [{"keyid": "", "sig": b64.encode(sig.to_bytes())}]}))
        .unwrap_or_default()
}

async fn attest(
    url: String,
    token: String,
    submitters: usize,
    seconds: u64,
    pause_ms: u64,
) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let key = Arc::new(attest_key());
    let deadline = Instant::now() + std::time::Duration::from_secs(seconds);
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..submitters {
        let (client, url, token, key, counter) = (
            client.clone(),
            url.clone(),
            token.clone(),
            key.clone(),
            counter.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let body = envelope(&key, n);
                let t = Instant::now();
                let r = client
                    .post(format!("{url}/log/entries"))
                    .bearer_auth(&token)
                    .body(body)
                    .send()
                    .await?;
                if !r.status().is_success() {
                    bail!("{}: {}", r.status(), r.text().await.unwrap_or_default());
                }
                latencies.push(t.elapsed());
                if pause_ms > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(pause_ms)).await;
                }
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let secs = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 - 1.0) * p) as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{} entries in {secs:.1} s = {:.0} entries/s with {submitters} submitters; submit->checkpoint p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms",
        all.len(),
        all.len() as f64 / secs,
        pct(0.5),
        pct(0.9),
        pct(0.99)
    );
    Ok(())
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
    let (url, token, key, fixtures, names, per_name, concurrency) = match Cli::parse() {
        Cli::AttestKey { out } => {
            use ed25519_dalek::pkcs8::EncodePublicKey;
            let pem = attest_key()
                .verifying_key()
                .to_public_key_pem(Default::default())?;
            std::fs::write(out, pem)?;
            return Ok(());
        }
        Cli::Attest {
            url,
            token,
            submitters,
            seconds,
            pause_ms,
        } => {
            return attest(url, token, submitters, seconds, pause_ms).await;
        }
        Cli::MakeLog {
            data,
            entries,
            signers,
        } => return make_log::run(&data, entries, signers),
        Cli::Search {
            url,
            signers,
            extra,
            clients,
            seconds,
        } => return search::run(&url, signers, &extra, clients, seconds).await,
        Cli::Populate {
            url,
            token,
            key,
            fixtures,
            names,
            per_name,
            concurrency,
        } => (url, token, key, fixtures, names, per_name, concurrency),
    };
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
