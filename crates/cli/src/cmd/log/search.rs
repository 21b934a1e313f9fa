//! `cairn log search`: entries by digest, subject, material, signer key, name or host,
//! each proven in the log. Searching by key answers "everything key K ever signed, and
//! which of it was deleted since" in one command: every entry printed and every deletion
//! named is proven; a publication shown without a deletion is one whose deletion the
//! registry did not show (absence is what no log proof covers).

use std::process::ExitCode;

use anyhow::Context;
use cairn_api::{LogEntry, SearchKey};
use cairn_client::search::{ProvenHit, ProvenSearch};

use crate::common::key_ids::key_ids;
use crate::common::remote::{Remote, RemoteArgs};
use crate::common::trust::{ProofArgs, log_state};

/// What to search for: exactly one.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct SearchWhat {
    /// SHA-256 of what an entry publishes, deletes or speaks of.
    #[arg(long)]
    digest: Option<String>,
    /// A digest attestations name as a subject (link products, statement subjects).
    #[arg(long)]
    subject: Option<String>,
    /// A digest attestations name as a material.
    #[arg(long)]
    material: Option<String>,
    /// A signer: a key file (SPKI PEM, a private key's public half, OpenPGP), a key id or an
    /// OpenPGP fingerprint.
    #[arg(long)]
    key: Option<String>,
    /// A plugin or package name, or NAME@VERSION.
    #[arg(long)]
    name: Option<String>,
    /// A host.
    #[arg(long)]
    host: Option<String>,
}

/// `cairn log search`.
#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    #[command(flatten)]
    what: SearchWhat,
    /// Most entries to print (all by default).
    #[arg(long)]
    limit: Option<usize>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    proof: ProofArgs,
    #[command(flatten)]
    remote: RemoteArgs,
}

impl SearchWhat {
    /// The key and the values it stands for (a key file may hold several keys).
    fn values(&self) -> anyhow::Result<(SearchKey, Vec<String>)> {
        let one = |k: SearchKey, v: &String| Ok((k, vec![v.clone()]));
        match self {
            SearchWhat {
                digest: Some(v), ..
            } => one(SearchKey::Digest, v),
            SearchWhat {
                subject: Some(v), ..
            } => one(SearchKey::Subject, v),
            SearchWhat {
                material: Some(v), ..
            } => one(SearchKey::Material, v),
            SearchWhat { key: Some(v), .. } => Ok((SearchKey::Key, key_ids(v)?)),
            SearchWhat { name: Some(v), .. } => one(SearchKey::Name, v),
            SearchWhat { host: Some(v), .. } => one(SearchKey::Host, v),
            _ => {
                anyhow::bail!("give one of --digest, --subject, --material, --key, --name, --host")
            }
        }
    }
}

/// Runs `cairn log search`: exit 0 when something matched, 1 when nothing did.
pub fn run(args: SearchArgs) -> anyhow::Result<ExitCode> {
    let (key, values) = args.what.values()?;
    let log = args.proof.verifier()?;
    let remote = Remote::new(&args.remote)?;
    let state = log_state()?;
    let mut found: Vec<(String, ProvenSearch)> = Vec::new();
    for value in &values {
        let proven = remote
            .runtime
            .block_on(cairn_client::search::search(
                &remote.client,
                key,
                value,
                args.limit,
                &log,
                &state,
            ))
            .with_context(|| format!("searching {}={value}", key.as_str()))?;
        found.push((value.clone(), proven));
    }
    let mut hits: Vec<&ProvenHit> = found.iter().flat_map(|(_, s)| &s.hits).collect();
    hits.sort_by_key(|h| h.index);
    hits.dedup_by_key(|h| h.index);
    if let Some(limit) = args.limit {
        hits.truncate(limit);
    }
    let size = found
        .iter()
        .filter_map(|(_, s)| s.checkpoint.as_ref().map(|c| c.size))
        .max()
        .unwrap_or(0);
    if args.json {
        let out: Vec<_> = hits
            .iter()
            .map(|h| {
                serde_json::json!({
                    "index": h.index,
                    "kind": kind(&h.entry),
                    "entry": h.entry,
                    "deleted_by": h.deleted_by,
                    "deleted": served(h).map(|s| !s),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "key": key.as_str(), "values": values, "hits": out, "checkpoint_size": size,
            }))?
        );
    } else {
        for h in &hits {
            println!("{}", line(h));
        }
        eprintln!(
            "cairn: {} entr{} for {}={}, each proven in the log's checkpoint of {size} entries",
            hits.len(),
            if hits.len() == 1 { "y" } else { "ies" },
            key.as_str(),
            values.join(",")
        );
    }
    Ok(if hits.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// For what an entry publishes: whether no deletion of it was shown (the registry's search
/// named none; a named one is proven).
fn served(h: &ProvenHit) -> Option<bool> {
    matches!(
        h.entry,
        LogEntry::Artifact { .. } | LogEntry::Package { .. }
    )
    .then_some(h.deleted_by.is_none())
}

fn kind(e: &LogEntry) -> &'static str {
    match e {
        LogEntry::Artifact { .. } => "artifact",
        LogEntry::Delete { .. } => "delete",
        LogEntry::Scan { .. } => "scan",
        LogEntry::Host { .. } => "host",
        LogEntry::Baseline { .. } => "baseline",
        LogEntry::Attestation { .. } => "attestation",
        LogEntry::Package { .. } => "package",
        LogEntry::PackageDelete { .. } => "package_delete",
        LogEntry::EfiImage { .. } => "efi_image",
        LogEntry::EfiVars { .. } => "efi_vars",
        LogEntry::Policy { .. } => "policy",
    }
}

/// One printed line: index, kind, what it names, and for publications their state.
fn line(h: &ProvenHit) -> String {
    let what = match &h.entry {
        LogEntry::Artifact {
            digest,
            descriptors,
            ..
        } => {
            let mut names: Vec<String> = descriptors
                .iter()
                .map(|d| format!("{}@{}", d.name, d.version))
                .collect();
            names.dedup();
            format!("{digest} {}", names.join(","))
        }
        LogEntry::Delete { digest, .. } => digest.clone(),
        LogEntry::Scan { scan, .. } => format!("{} host {}", scan.digest, scan.host),
        LogEntry::Host { name, key_id, .. } => format!("{name} key {key_id}"),
        LogEntry::Baseline { host, scan, .. } => format!("{host} scan {scan}"),
        LogEntry::Attestation {
            format,
            digest,
            subjects,
            ..
        } => format!("{digest} {format}, {} subject(s)", subjects.len()),
        LogEntry::Package {
            name,
            version,
            digest,
            ..
        }
        | LogEntry::PackageDelete {
            name,
            version,
            digest,
            ..
        } => format!("{name}@{version} {digest}"),
        LogEntry::EfiImage { digest, .. } | LogEntry::EfiVars { digest, .. } => digest.clone(),
        LogEntry::Policy {
            version, digest, ..
        } => format!("version {version} {digest}"),
    };
    let state = match (served(h), h.deleted_by) {
        (Some(_), Some(by)) => format!("  deleted by entry {by}"),
        (Some(_), None) => "  no deletion logged".to_owned(),
        _ => String::new(),
    };
    format!("{:>8}  {:<14}  {what}{state}", h.index, kind(&h.entry))
}
