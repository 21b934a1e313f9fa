//! `cairn-bench search`: `GET /log/search?key=` by random signer keys of a `make-log`
//! registry, timed per request.

use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};

use crate::make_log::signer_id;

/// A small deterministic generator, so runs search the same keys.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Runs `clients` searchers for `seconds`; prints throughput and latency percentiles.
pub async fn run(
    url: &str,
    signers: u64,
    extra: &str,
    clients: usize,
    seconds: u64,
) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let per_client: Vec<anyhow::Result<(Vec<Duration>, usize)>> = stream::iter(0..clients)
        .map(|c| {
            let (client, url, extra) = (client.clone(), url.to_owned(), extra.to_owned());
            async move {
                let mut seed = 0x9e37_79b9_7f4a_7c15 ^ (c as u64 + 1);
                let mut times = Vec::new();
                let mut hits = 0;
                while Instant::now() < deadline {
                    let key = signer_id(next(&mut seed) % signers.max(1));
                    let sep = if extra.is_empty() { "" } else { "&" };
                    let started = Instant::now();
                    let r = client
                        .get(format!("{url}/log/search?key={key}{sep}{extra}"))
                        .send()
                        .await?;
                    let status = r.status();
                    let body = r.bytes().await?;
                    times.push(started.elapsed());
                    anyhow::ensure!(status.is_success(), "search: {status}");
                    let answer: cairn_api::SearchAnswer = serde_json::from_slice(&body)?;
                    hits += answer.hits.len();
                }
                Ok((times, hits))
            }
        })
        .buffer_unordered(clients.max(1))
        .collect()
        .await;
    let mut times = Vec::new();
    let mut hits = 0;
    for r in per_client {
        let (t, h) = r?;
        times.extend(t);
        hits += h;
    }
    times.sort();
    let pct = |p: f64| {
        times
            .get(((times.len() as f64 * p) as usize).min(times.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{} searches in {seconds} s ({:.0}/s), {:.1} hits each; latency ms: p50 {:.2} p90 {:.2} p99 {:.2} max {:.2}",
        times.len(),
        times.len() as f64 / seconds as f64,
        hits as f64 / times.len().max(1) as f64,
        pct(0.50),
        pct(0.90),
        pct(0.99),
        pct(1.0)
    );
    Ok(())
}
