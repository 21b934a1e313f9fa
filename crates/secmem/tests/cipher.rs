#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The hand-assembled XChaCha20-Poly1305 agrees with the `chacha20poly1305` crate.

use cairn_secmem::raw;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

fn sample(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
fn agrees_with_the_reference_both_ways() {
    for len in [0, 1, 15, 16, 17, 63, 64, 65, 1000, 70_000] {
        let key: [u8; 32] = sample(32, len as u8).try_into().unwrap();
        let nonce: [u8; 24] = sample(24, 99).try_into().unwrap();
        let plain = sample(len, 3);
        let reference = XChaCha20Poly1305::new((&key).into())
            .encrypt(&XNonce::from(nonce), plain.as_slice())
            .unwrap();
        let mut ours = vec![0u8; len + raw::TAG_LEN];
        raw::seal(&key, &nonce, &plain, &mut ours).unwrap();
        assert_eq!(ours, reference, "len {len}");
        let mut back = vec![0u8; len];
        raw::open(&key, &nonce, &reference, &mut back).unwrap();
        assert_eq!(back, plain);
    }
}

#[test]
fn a_bad_tag_writes_nothing() {
    let key = [1u8; 32];
    let nonce = [2u8; 24];
    let mut sealed = vec![0u8; 40 + raw::TAG_LEN];
    raw::seal(&key, &nonce, &[9u8; 40], &mut sealed).unwrap();
    let last = sealed.len() - 1;
    sealed[last] ^= 1;
    let mut out = [0xEEu8; 40];
    assert!(raw::open(&key, &nonce, &sealed, &mut out).is_err());
    assert_eq!(out, [0xEE; 40], "plaintext written before authentication");
    assert!(raw::open(&key, &nonce, &sealed[..5], &mut out).is_err());
}
