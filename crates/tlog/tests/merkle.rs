//! Proofs against a naive RFC 6962 implementation, for every tree size up to 2,048, and
//! every way of corrupting a proof.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use cairn_tlog::ProofError;
use cairn_tlog::merkle::{
    Hash, MemoryTree, consistency_proof, empty_root, inclusion_proof, leaf_hash, node_hash,
    verify_consistency, verify_inclusion,
};

use std::cell::RefCell;
use std::collections::HashMap;

thread_local! {
    /// MTH by (address of the first leaf, length): the naive recursion recomputes the same
    /// ranges over and over, and a test over thousands of sizes would otherwise take minutes.
    static MEMO: RefCell<HashMap<(usize, usize), Hash>> = RefCell::new(HashMap::new());
}

/// RFC 6962 §2.1 MTH, straight from the definition (memoised).
fn mth(leaves: &[Hash]) -> Hash {
    let key = (leaves.as_ptr() as usize, leaves.len());
    if let Some(h) = MEMO.with(|m| m.borrow().get(&key).copied()) {
        return h;
    }
    let h = match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = 1 << (63 - (n as u64 - 1).leading_zeros());
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    };
    MEMO.with(|m| m.borrow_mut().insert(key, h));
    h
}

/// RFC 6962 §2.1.1 PATH.
fn naive_path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 {
        return vec![];
    }
    let k = 1 << (63 - (n as u64 - 1).leading_zeros());
    if m < k {
        let mut p = naive_path(m, &leaves[..k]);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = naive_path(m - k, &leaves[k..]);
        p.push(mth(&leaves[..k]));
        p
    }
}

/// RFC 6962 §2.1.2 SUBPROOF.
fn naive_subproof(m: usize, leaves: &[Hash], complete: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if complete { vec![] } else { vec![mth(leaves)] };
    }
    let k = 1 << (63 - (n as u64 - 1).leading_zeros());
    if m <= k {
        let mut p = naive_subproof(m, &leaves[..k], complete);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = naive_subproof(m - k, &leaves[k..], false);
        p.push(mth(&leaves[..k]));
        p
    }
}

fn leaves(n: usize) -> Vec<Hash> {
    (0..n)
        .map(|i| leaf_hash(format!("entry {i}").as_bytes()))
        .collect()
}

/// Indices or sizes to try for a tree of `n`: all when small, edges and a spread otherwise.
fn sample(n: usize) -> Vec<usize> {
    if n <= 70 {
        return (0..n).collect();
    }
    let mut v = vec![0, 1, 2, n / 3, n / 2, n - 3, n - 2, n - 1];
    v.extend((0..n).step_by(n / 7 + 1));
    v.sort_unstable();
    v.dedup();
    v
}

#[test]
fn roots_and_proofs_match_the_rfc_for_every_size() {
    let all = leaves(2048);
    let mut tree = MemoryTree::default();
    let mut roots = vec![empty_root()];
    for n in 1..=all.len() {
        tree.push(all[n - 1]);
        let expected = mth(&all[..n]);
        assert_eq!(tree.root(), expected, "root of size {n}");
        roots.push(expected);
        for m in sample(n) {
            let proof = inclusion_proof(&tree, m as u64, n as u64).unwrap();
            assert_eq!(proof, naive_path(m, &all[..n]), "inclusion {m} in {n}");
            verify_inclusion(m as u64, n as u64, &all[m], &proof, &expected).unwrap();
        }
        for old in sample(n + 1) {
            let proof = consistency_proof(&tree, old as u64, n as u64).unwrap();
            let naive = if old == 0 || old == n {
                vec![]
            } else {
                naive_subproof(old, &all[..n], true)
            };
            assert_eq!(proof, naive, "consistency {old} -> {n}");
            verify_consistency(old as u64, n as u64, &roots[old], &expected, &proof).unwrap();
        }
    }
}

#[test]
fn every_corruption_of_a_proof_is_refused() {
    let all = leaves(37);
    let mut tree = MemoryTree::default();
    all.iter().for_each(|l| tree.push(*l));
    let root = tree.root();
    let mut old_tree = MemoryTree::default();
    all[..13].iter().for_each(|l| old_tree.push(*l));
    let old_root = old_tree.root();

    let proof = inclusion_proof(&tree, 11, 37).unwrap();
    for i in 0..proof.len() {
        let mut bad = proof.clone();
        bad[i][0] ^= 1;
        assert_eq!(
            verify_inclusion(11, 37, &all[11], &bad, &root),
            Err(ProofError::RootMismatch)
        );
    }
    assert!(verify_inclusion(11, 37, &all[11], &proof[1..], &root).is_err());
    assert!(
        verify_inclusion(
            11,
            37,
            &all[11],
            &[proof.clone(), vec![[0; 32]]].concat(),
            &root
        )
        .is_err()
    );
    assert!(verify_inclusion(12, 37, &all[11], &proof, &root).is_err());
    // A size with another proof shape (sizes of one shape are told apart by the root).
    assert!(verify_inclusion(11, 20, &all[11], &proof, &root).is_err());
    assert!(verify_inclusion(11, 37, &all[12], &proof, &root).is_err());
    assert_eq!(
        verify_inclusion(37, 37, &all[11], &proof, &root),
        Err(ProofError::IndexOutOfRange {
            index: 37,
            size: 37
        })
    );

    let proof = consistency_proof(&tree, 13, 37).unwrap();
    for i in 0..proof.len() {
        let mut bad = proof.clone();
        bad[i][31] ^= 0x80;
        assert!(
            verify_consistency(13, 37, &old_root, &root, &bad).is_err(),
            "hash {i}"
        );
    }
    assert!(verify_consistency(13, 37, &old_root, &root, &proof[1..]).is_err());
    assert!(verify_consistency(13, 37, &old_root, &root, &[]).is_err());
    assert!(verify_consistency(12, 37, &old_root, &root, &proof).is_err());
    assert!(verify_consistency(13, 37, &root, &root, &proof).is_err());
    assert_eq!(
        verify_consistency(37, 13, &root, &old_root, &proof),
        Err(ProofError::SizesReversed { old: 37, new: 13 })
    );
    assert!(consistency_proof(&tree, 38, 37).is_err());
    assert!(
        inclusion_proof(&tree, 0, 38).is_err(),
        "nodes past the tree are missing, not invented"
    );
}

/// C2SP witness rule: from size 0 only an empty proof with the empty-tree root passes.
#[test]
fn consistency_from_the_empty_tree() {
    let mut tree = MemoryTree::default();
    leaves(5).iter().for_each(|l| tree.push(*l));
    let root = tree.root();
    verify_consistency(0, 5, &empty_root(), &root, &[]).unwrap();
    assert_eq!(
        verify_consistency(0, 5, &root, &root, &[]),
        Err(ProofError::BadEmptyTree)
    );
    assert_eq!(
        verify_consistency(0, 5, &empty_root(), &root, &[root]),
        Err(ProofError::BadEmptyTree)
    );
    verify_consistency(5, 5, &root, &root, &[]).unwrap();
    assert_eq!(
        verify_consistency(5, 5, &root, &empty_root(), &[]),
        Err(ProofError::RootMismatch)
    );
}
