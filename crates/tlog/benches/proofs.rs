//! Proof generation on a log of 1,000,000 entries (issue: under 1 ms each).
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

criterion_group!(benches, proofs);
criterion_main!(benches);
