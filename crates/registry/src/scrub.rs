//! `cairn admin verify`: the log, the index and the blobs of an embedded installation,
//! checked against each other.
//!
//! The log is the truth: it is audited whole (checkpoint signature, every bundle and tile,
//! the root), then replayed into the state it implies (a scratch index, written by the same
//! projection as the registry's own). Every indexed artifact, scan and EFI file must
//! be exactly that state (nothing more, nothing less, every field equal), every blob it
//! names must hash to its name, and a blob nothing names is an orphan (reported, and
//! removed on request). Nothing else is written.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use cairn_tlog::{DirStore, keyfile};
use futures::StreamExt as _;

use crate::blobs::BlobStore;
use crate::digest::Digest;
use crate::error::Error;
use crate::index::packages::PackageQuery;
use crate::index::{Index, projection};
use crate::migrate::{blocking, read_entries};
use crate::registry::journal::parse_logged;

/// What to check.
#[derive(Clone, Debug)]
pub struct Scrub {
    /// The data directory.
    pub data_dir: PathBuf,
    /// The log key and origin (the key defaults to the data directory's).
    pub log: crate::LogKey,
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
    /// EFI images and signed variable updates the log implies.
    pub efi_files: u64,
    /// Package versions the log implies.
    pub packages: u64,
    /// Blob bytes read and hashed.
    pub bytes: u64,
    /// Every disagreement, one line each.
    pub problems: Vec<String>,
    /// Blobs nothing names.
    pub orphans: Vec<Digest>,
    /// Orphans removed.
    pub deleted: u64,
}

/// The state the log implies: the log projected into a scratch index by the same
/// projection the registry writes with, and the digests it publishes.
struct Expected {
    index: Index,
    artifacts: BTreeSet<Digest>,
    scans: BTreeSet<Digest>,
    efi: BTreeSet<Digest>,
    /// Every package version the log implies, and the digests they name.
    packages: Vec<cairn_api::PackageSummary>,
    package_blobs: BTreeSet<Digest>,
    /// Blob bytes the log names.
    bytes: u64,
    /// Keeps the scratch index's directory until the check is done.
    _dir: tempfile::TempDir,
}

impl Expected {
    /// Projects `entries` into a scratch SQLite index, in one transaction; an entry that
    /// is no registry entry is reported and skipped.
    async fn project(entries: &[Vec<u8>], report: &mut Report) -> Result<Self, Error> {
        let dir = tempfile::tempdir()?;
        let index = Index::open_sqlite(&dir.path().join("expected.db")).await?;
        let mut tx = index.begin().await?;
        for (i, bytes) in (0..).zip(entries) {
            let applied = match parse_logged(i, bytes) {
                Ok(entry) => projection::apply(&mut tx, &entry, i).await.map(|_| ()),
                Err(e) => Err(e),
            };
            if let Err(why) = applied {
                report.problems.push(format!("log entry {i}: {why}"));
            }
        }
        tx.commit().await?;
        let (mut artifacts, mut scans, mut bytes) = (BTreeSet::new(), BTreeSet::new(), 0);
        let mut efi = BTreeSet::new();
        for d in index.stored_digests().await? {
            if let Some(meta) = index.metadata(&d).await? {
                bytes += meta.size;
                artifacts.insert(d);
            } else if let Some(scan) = index.scan(&d).await? {
                bytes += scan.size;
                scans.insert(d);
            } else if let Some(file) = index.efi_file(&d).await? {
                bytes += file.size();
                efi.insert(d);
            }
        }
        let packages = index.packages(&PackageQuery::all()).await?;
        let mut package_blobs = BTreeSet::new();
        for p in &packages {
            let d = Digest::parse(&p.digest)
                .ok_or_else(|| Error::Corrupt(format!("package digest {:?}", p.digest)))?;
            let elsewhere = artifacts.contains(&d) || scans.contains(&d) || efi.contains(&d);
            if package_blobs.insert(d) && !elsewhere {
                bytes += p.size;
            }
        }
        Ok(Expected {
            index,
            artifacts,
            scans,
            efi,
            packages,
            package_blobs,
            bytes,
            _dir: dir,
        })
    }
}

/// Checks the installation in `s.data_dir`.
pub async fn scrub(s: &Scrub) -> Result<Report, Error> {
    let mut report = Report::default();
    let verifier = keyfile::load(&s.log.path(&s.data_dir), &s.log.origin())?.verifier();
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
    let expected = Expected::project(&read_entries(&log, size).await?, &mut report).await?;
    report.artifacts = expected.artifacts.len() as u64;
    report.scans = expected.scans.len() as u64;
    report.efi_files = expected.efi.len() as u64;
    report.packages = expected.packages.len() as u64;
    report.bytes = expected.bytes;
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
    for d in &expected.artifacts {
        let want = expected.index.metadata(d).await?;
        let at = want.as_ref().and_then(|w| w.log_index).unwrap_or_default();
        match index.metadata(d).await? {
            None => report
                .problems
                .push(format!("index: artifact {d} (log entry {at}) is missing")),
            Some(got) if Some(&got) != want.as_ref() => report.problems.push(format!(
                "index: artifact {d} differs from its log entry {at}: {}",
                first_difference(&got, &want)
            )),
            Some(_) => {}
        }
    }
    for d in &expected.scans {
        let want = expected.index.scan(d).await?;
        match index.scan(d).await? {
            None => report.problems.push(format!("index: scan {d} is missing")),
            Some(got) if Some(&got) != want.as_ref() => report.problems.push(format!(
                "index: scan {d} differs from its log entry: {}",
                first_difference(&got, &want)
            )),
            Some(_) => {}
        }
    }
    for d in &expected.efi {
        let want = expected.index.efi_file(d).await?;
        match index.efi_file(d).await? {
            None => report
                .problems
                .push(format!("index: EFI file {d} is missing")),
            Some(got) if Some(&got) != want.as_ref() => report.problems.push(format!(
                "index: EFI file {d} differs from its log entry: {}",
                first_difference(&got, &want)
            )),
            Some(_) => {}
        }
    }
    for want in &expected.packages {
        let (name, version) = (&want.name, &want.version);
        match index.package(name, version).await? {
            None => report
                .problems
                .push(format!("index: package {name} {version} is missing")),
            Some(got) if got != *want => report.problems.push(format!(
                "index: package {name} {version} differs from its log entry: {}",
                first_difference(&got, &Some(want.clone()))
            )),
            Some(_) => {}
        }
    }
    let listed = index.packages(&PackageQuery::all()).await?.len();
    if listed != expected.packages.len() {
        report.problems.push(format!(
            "index: {listed} package versions are indexed; the log publishes {}",
            expected.packages.len()
        ));
    }
    for d in index.stored_digests().await? {
        if !expected.artifacts.contains(&d)
            && !expected.scans.contains(&d)
            && !expected.efi.contains(&d)
            && !expected.package_blobs.contains(&d)
        {
            report.problems.push(format!(
                "index: {d} is indexed, but the log does not publish it"
            ));
        }
    }
    Ok(())
}

/// The first field in which two values' JSON differ: `field: index X, log Y`.
fn first_difference<T: serde::Serialize>(got: &T, want: &Option<T>) -> String {
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
        .iter()
        .chain(&expected.scans)
        .chain(&expected.efi)
        .chain(&expected.package_blobs)
        .copied()
        .collect();
    for d in &named {
        if !blobs.verify(d).await? {
            report
                .problems
                .push(format!("blob {d} is missing or does not hash to its name"));
        }
    }
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
