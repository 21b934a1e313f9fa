//! `cairn admin verify`: the log, the index and the blobs of an embedded installation,
//! checked against each other.
//!
//! The log is the truth: it is audited whole (checkpoint signature, every bundle and tile,
//! the root), then replayed into the state it implies. Every indexed artifact and scan must
//! be exactly that state (nothing more, nothing less, every field equal), every blob it
//! names must hash to its name, and a blob nothing names is an orphan (reported, and
//! removed on request). Nothing else is written.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use cairn_tlog::{DirStore, keyfile};
use futures::StreamExt as _;

use crate::blobs::BlobStore;
use crate::digest::Digest;
use crate::error::Error;
use crate::index::Index;
use crate::log_entry::{EntryCodec as _, LogEntry};
use crate::migrate::{blocking, read_entries};
use crate::model::{PluginMetadata, time_of};
use crate::scans::ScanSummary;

/// What to check.
#[derive(Clone, Debug)]
pub struct Scrub {
    /// The data directory.
    pub data_dir: PathBuf,
    /// The log key file.
    pub log_key: PathBuf,
    /// The log origin.
    pub origin: String,
    /// Remove blobs nothing names.
    pub delete_orphans: bool,
}

/// What was found.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Log entries audited.
    pub entries: u64,
    /// Artifacts the log implies.
    pub artifacts: u64,
    /// Scans the log implies.
    pub scans: u64,
    /// Blob bytes read and hashed.
    pub bytes: u64,
    /// Every disagreement, one line each.
    pub problems: Vec<String>,
    /// Blobs nothing names.
    pub orphans: Vec<Digest>,
    /// Orphans removed.
    pub deleted: u64,
}

/// The state the log implies.
#[derive(Default)]
struct Expected {
    artifacts: BTreeMap<Digest, PluginMetadata>,
    scans: BTreeMap<Digest, ScanSummary>,
}

impl Expected {
    fn apply(&mut self, i: u64, bytes: &[u8]) -> Result<(), String> {
        let entry = LogEntry::parse(bytes).ok_or("not a registry entry")?;
        let digest = |d: &str| Digest::parse(d).ok_or(format!("bad digest {d:?}"));
        match entry {
            LogEntry::Artifact {
                digest: d,
                size,
                signature,
                key_id,
                created_ns,
                descriptors,
            } => {
                let meta = PluginMetadata {
                    digest: d.clone(),
                    signature,
                    created_at: time_of(created_ns),
                    descriptors,
                    size,
                    verified: key_id.is_some(),
                    key_id,
                    log_index: Some(i),
                };
                // A republication after a delete is a new artifact; a repeat is not.
                self.artifacts.entry(digest(&d)?).or_insert(meta);
            }
            LogEntry::Delete { digest: d, .. } => {
                self.artifacts.remove(&digest(&d)?);
            }
            LogEntry::Scan { mut scan, .. } => {
                scan.log_index = Some(i);
                let d = digest(&scan.digest)?;
                self.scans.entry(d).or_insert(scan);
            }
            LogEntry::Attestation { .. } => {}
        }
        Ok(())
    }
}

/// Checks the installation in `s.data_dir`.
pub async fn scrub(s: &Scrub) -> Result<Report, Error> {
    let mut report = Report::default();
    let verifier = keyfile::load(&s.log_key, &s.origin)?.verifier();
    let log = Arc::new(DirStore::open(&s.data_dir.join("log"))?);
    let (store, key) = (log.clone(), verifier.clone());
    let verified = blocking(move || Ok(cairn_tlog::verify_log(&store, &key, None)?)).await;
    let size = match verified {
        Ok(v) => v.size,
        Err(e) => {
            report.problems.push(format!("log: {e}"));
            return Ok(report);
        }
    };
    report.entries = size;
    let mut expected = Expected::default();
    for (i, bytes) in read_entries(&log, size).await?.iter().enumerate() {
        if let Err(why) = expected.apply(i as u64, bytes) {
            report.problems.push(format!("log entry {i}: {why}"));
        }
    }
    report.artifacts = expected.artifacts.len() as u64;
    report.scans = expected.scans.len() as u64;
    let index = Index::open_sqlite(&s.data_dir.join("index.db")).await?;
    compare_index(&index, &expected, &mut report).await?;
    let blobs = BlobStore::local(&s.data_dir)?;
    check_blobs(&blobs, &expected, s.delete_orphans, &mut report).await?;
    Ok(report)
}

async fn compare_index(
    index: &Index,
    expected: &Expected,
    report: &mut Report,
) -> Result<(), Error> {
    for (d, want) in &expected.artifacts {
        match index.metadata(d).await? {
            None => report.problems.push(format!(
                "index: artifact {d} (log entry {}) is missing",
                want.log_index.unwrap_or_default()
            )),
            Some(got) if got != *want => report.problems.push(format!(
                "index: artifact {d} differs from its log entry {}: {}",
                want.log_index.unwrap_or_default(),
                first_difference(&got, want)
            )),
            Some(_) => {}
        }
    }
    for (d, want) in &expected.scans {
        match index.scan(d).await? {
            None => report.problems.push(format!("index: scan {d} is missing")),
            Some(got) if got != *want => report.problems.push(format!(
                "index: scan {d} differs from its log entry: {}",
                first_difference(&got, want)
            )),
            Some(_) => {}
        }
    }
    for d in index.stored_digests().await? {
        if !expected.artifacts.contains_key(&d) && !expected.scans.contains_key(&d) {
            report.problems.push(format!(
                "index: {d} is indexed, but the log does not publish it"
            ));
        }
    }
    Ok(())
}

/// The first field in which two values' JSON differ: `field: index X, log Y`.
fn first_difference<T: serde::Serialize>(got: &T, want: &T) -> String {
    let (a, b) = (
        serde_json::to_value(got).unwrap_or_default(),
        serde_json::to_value(want).unwrap_or_default(),
    );
    match (a.as_object(), b.as_object()) {
        (Some(a), Some(b)) => a
            .iter()
            .find(|(k, v)| b.get(*k) != Some(*v))
            .map(|(k, v)| {
                format!(
                    "{k}: index {v}, log {}",
                    b.get(k).cloned().unwrap_or_default()
                )
            })
            .unwrap_or_default(),
        _ => String::new(),
    }
}

async fn check_blobs(
    blobs: &BlobStore,
    expected: &Expected,
    delete_orphans: bool,
    report: &mut Report,
) -> Result<(), Error> {
    let named: BTreeSet<Digest> = expected
        .artifacts
        .keys()
        .chain(expected.scans.keys())
        .copied()
        .collect();
    for d in &named {
        if !blobs.verify(d).await? {
            report
                .problems
                .push(format!("blob {d} is missing or does not hash to its name"));
        }
    }
    report.bytes = expected.artifacts.values().map(|m| m.size).sum::<u64>()
        + expected.scans.values().map(|s| s.size).sum::<u64>();
    let mut listing = blobs
        .objects()
        .list(Some(&object_store::path::Path::from("blobs/sha256")));
    while let Some(object) = listing.next().await {
        let object = object?;
        let Some(d) = object.location.filename().and_then(Digest::parse) else {
            continue;
        };
        if named.contains(&d) {
            continue;
        }
        report.orphans.push(d);
        if delete_orphans {
            blobs.delete(&d).await?;
            report.deleted += 1;
        }
    }
    Ok(())
}
