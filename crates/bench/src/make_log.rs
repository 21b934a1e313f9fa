//! `cairn-bench make-log`: writes a registry data directory whose log holds N entries of
//! the kinds a busy registry logs (artifacts signed by one of many keys, deletions,
//! attestations with subjects and materials), straight through the log writer: a
//! million entries in seconds rather than hours of uploads. `cairn admin reindex` then
//! builds the index (and the search index) from it, which is what the search benchmark
//! measures.

use std::path::Path;
use std::time::Instant;

use cairn_api::{Architecture, Descriptor, FileType, LogEntry, PluginKind};
use sha2::{Digest as _, Sha256};

/// Entries appended per batch (one checkpoint each).
const BATCH: usize = 4096;

fn hex_of(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The key id of signer `k` (ids only: reindexing logs checks no signature again).
pub fn signer_id(k: u64) -> String {
    hex_of(&[b"bench signer", &k.to_le_bytes()])
}

/// Entry `i` of the generated log: 80 % artifacts, 10 % attestations, 10 % deletions of
/// an artifact published earlier.
fn entry(i: u64, signers: u64) -> LogEntry {
    let digest = |n: u64| hex_of(&[b"artifact", &n.to_le_bytes()]);
    match i % 10 {
        8 => LogEntry::Attestation {
            format: "in-toto-link".into(),
            digest: hex_of(&[b"link", &i.to_le_bytes()]),
            subjects: vec![digest(i - 1), digest(i - 2)],
            materials: vec![hex_of(&[b"source", &(i / 100).to_le_bytes()])],
            signers: vec![signer_id(i % signers)],
        },
        9 => LogEntry::Delete {
            digest: digest(i - 3),
            deleted_ns: i as i64,
        },
        _ => {
            let name = format!("plugin{}", i % 5000);
            LogEntry::Artifact {
                digest: digest(i),
                size: 4096 + i % 1000,
                signature: hex_of(&[b"signature", &i.to_le_bytes()]),
                key_id: Some(signer_id(i % signers)),
                created_ns: 1_700_000_000_000_000_000 + i as i64,
                descriptors: vec![Descriptor {
                    plugin_kind: PluginKind::Connector,
                    export_name: format!("MEMFLOW_CONNECTOR_{}", name.to_uppercase()),
                    file_type: FileType::Elf,
                    architecture: Architecture::X86_64,
                    plugin_version: 1,
                    name,
                    version: format!("0.{}.{}", i % 7, i % 13),
                    description: "a generated plugin".into(),
                }],
            }
        }
    }
}

/// Writes `n` entries to the log of data directory `data` (key `data/keys/log.pem`,
/// created when missing, with the default origin, as `cairn serve` would).
pub fn run(data: &Path, n: u64, signers: u64) -> anyhow::Result<()> {
    let started = Instant::now();
    std::fs::create_dir_all(data.join("keys"))?;
    let (signer, _) = cairn_tlog::keyfile::load_or_generate(
        &cairn_tlog::keyfile::default_path(data),
        &cairn_tlog::keyfile::default_origin(),
    )?;
    let store = cairn_tlog::DirStore::open(&data.join("log"))?;
    let mut writer = cairn_tlog::LogWriter::open(store, signer)?;
    let from = writer.size();
    let mut batch = Vec::with_capacity(BATCH);
    for i in from..from + n {
        let value = serde_json::to_value(entry(i, signers.max(1)))?;
        batch.push(cairn_tlog::entry::canonical(&value));
        if batch.len() == BATCH || i + 1 == from + n {
            writer.append(&batch)?;
            batch.clear();
        }
    }
    println!(
        "log of {} entries written in {:.1} s; verifier key {}",
        writer.size(),
        started.elapsed().as_secs_f64(),
        writer.verifier()
    );
    Ok(())
}
