//! Published vectors: transparency-dev/merkle (RFC 6962) and the C2SP tlog-tiles example.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use cairn_tlog::merkle::{
    Hash, MemoryTree, NodeSource, consistency_proof, empty_root, inclusion_proof, leaf_hash,
    verify_consistency, verify_inclusion,
};
use cairn_tlog::tile::{TilePath, tiles_for_size};

fn h(s: &str) -> Hash {
    let v: Vec<u8> = (0..64)
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect();
    v.try_into().unwrap()
}

/// transparency-dev/merkle testonly/constants.go: the eight leaf inputs.
fn leaves() -> Vec<Vec<u8>> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|s| {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    })
    .collect()
}

const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn tree(n: usize) -> MemoryTree {
    let mut t = MemoryTree::default();
    leaves()[..n].iter().for_each(|l| t.push(leaf_hash(l)));
    t
}

#[test]
fn roots_and_nodes() {
    assert_eq!(empty_root(), h(ROOTS[0]));
    for (n, root) in ROOTS.iter().enumerate().skip(1) {
        assert_eq!(tree(n).root(), h(root), "size {n}");
    }
    let t = tree(8);
    assert_eq!(
        t.node(1, 1).unwrap(),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e")
    );
    assert_eq!(
        t.node(2, 1).unwrap(),
        h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")
    );
}

#[test]
fn inclusion_vectors() {
    let cases: [(u64, usize, &[&str]); 5] = [
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (0, 1, &[]),
    ];
    for (index, size, expected) in cases {
        let expected: Vec<Hash> = expected.iter().map(|s| h(s)).collect();
        let t = tree(size);
        assert_eq!(
            inclusion_proof(&t, index, size as u64).unwrap(),
            expected,
            "{index} in {size}"
        );
        let leaf = leaf_hash(&leaves()[index as usize]);
        verify_inclusion(index, size as u64, &leaf, &expected, &h(ROOTS[size])).unwrap();
    }
}

#[test]
fn consistency_vectors() {
    let cases: [(usize, usize, &[&str]); 5] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (
            6,
            7,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    for (old, new, expected) in cases {
        let expected: Vec<Hash> = expected.iter().map(|s| h(s)).collect();
        assert_eq!(
            consistency_proof(&tree(new), old as u64, new as u64).unwrap(),
            expected,
            "{old} -> {new}"
        );
        verify_consistency(
            old as u64,
            new as u64,
            &h(ROOTS[old]),
            &h(ROOTS[new]),
            &expected,
        )
        .unwrap();
    }
    // Edge cases of transparency-dev/merkle's TestVerifyConsistency.
    assert!(verify_consistency(1, 2, &h(ROOTS[1]), &h(ROOTS[2]), &[]).is_err());
    assert!(verify_consistency(1, 1, &h(ROOTS[1]), &h(ROOTS[2]), &[]).is_err());
    assert!(verify_consistency(0, 0, &h(ROOTS[0]), &h(ROOTS[0]), &[h(ROOTS[1])]).is_err());
}

/// C2SP tlog-tiles: a tree of 70,000 entries has 273 full level-0 tiles and a partial of
/// 112, one full level-1 tile and a partial of 17, and a level-2 partial of 1.
#[test]
fn tile_set_of_the_spec_example() {
    let tiles: Vec<String> = tiles_for_size(70_000)
        .iter()
        .map(TilePath::to_string)
        .collect();
    assert!(tiles.contains(&"tile/0/272".to_owned()));
    assert!(tiles.contains(&"tile/0/273.p/112".to_owned()));
    assert!(tiles.contains(&"tile/1/000".to_owned()));
    assert!(tiles.contains(&"tile/1/001.p/17".to_owned()));
    assert!(tiles.contains(&"tile/2/000.p/1".to_owned()));
    assert!(tiles.contains(&"tile/entries/273.p/112".to_owned()));
    let level0 = tiles.iter().filter(|t| t.starts_with("tile/0/")).count();
    assert_eq!(level0, 274);
    assert!(!tiles.iter().any(|t| t.starts_with("tile/3/")));
    let of256: Vec<String> = tiles_for_size(256)
        .iter()
        .map(TilePath::to_string)
        .collect();
    assert_eq!(of256, ["tile/0/000", "tile/entries/000", "tile/1/000.p/1"]);
    assert!(tiles_for_size(0).is_empty());
}
