//! Proof generation on a log of 1,000,000 entries (issue: under 1 ms each), and the cost of
//! checking 1,000,000 read entries against their leaves (what start-up replay, reindex and
//! every entry read pay: one SHA-256 each).
#![allow(missing_docs, clippy::unwrap_used)]

use cairn_tlog::merkle::{MemoryTree, consistency_proof, inclusion_proof, leaf_hash};
use criterion::{Criterion, criterion_group, criterion_main};

const SIZE: u64 = 1_000_000;

fn proofs(c: &mut Criterion) {
    let mut tree = MemoryTree::default();
    for i in 0..SIZE {
        tree.push(leaf_hash(&i.to_le_bytes()));
    }
    let mut i = 0u64;
    c.bench_function("inclusion proof, 1M entries", |b| {
        b.iter(|| {
            i = (i * 6_364_136_223_846_793_005 + 1) % SIZE;
            inclusion_proof(&tree, i, SIZE).unwrap()
        })
    });
    c.bench_function("consistency proof, 1M entries", |b| {
        b.iter(|| {
            i = (i * 6_364_136_223_846_793_005 + 1) % SIZE;
            consistency_proof(&tree, i.max(1), SIZE).unwrap()
        })
    });
}

/// A registry artifact entry is about 600 bytes (one descriptor, canonical JSON).
fn entry(i: u64) -> Vec<u8> {
    let mut e = format!("{{\"created_ns\":{i},\"kind\":\"artifact\"}}").into_bytes();
    e.resize(600, b' ');
    e
}

fn checked_reads(c: &mut Criterion) {
    use cairn_tlog::NodeSource as _;
    let entries: Vec<Vec<u8>> = (0..SIZE).map(entry).collect();
    let mut tree = MemoryTree::default();
    for e in &entries {
        tree.push(leaf_hash(e));
    }
    let mut group = c.benchmark_group("entries checked against leaves");
    group.sample_size(10);
    group.bench_function("1M entries of 600 B", |b| {
        b.iter(|| {
            for (i, e) in entries.iter().enumerate() {
                assert_eq!(leaf_hash(e), tree.node(0, i as u64).unwrap());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, proofs, checked_reads);
criterion_main!(benches);
