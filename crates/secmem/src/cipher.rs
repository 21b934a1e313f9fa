//! XChaCha20-Poly1305 (the IETF AEAD construction, empty associated data), out of place.
//!
//! The `aead` crates encrypt in place, which would mean copying the plaintext into the
//! ciphertext's ordinary heap buffer first. Here encryption reads the plaintext from guarded
//! memory and writes only ciphertext out; decryption checks the tag over the ciphertext
//! before writing a single plaintext byte into guarded memory, so a forged or damaged
//! enclave never yields plaintext anywhere. Interoperability with `chacha20poly1305` is a test.

use chacha20::XChaCha20;
use chacha20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use poly1305::Poly1305;
use poly1305::universal_hash::{KeyInit, UniversalHash};
use subtle::ConstantTimeEq;

use crate::error::Error;
use crate::sys;

/// Key length.
pub const KEY_LEN: usize = 32;
/// Nonce length (random per seal: 192 bits make collisions negligible).
pub const NONCE_LEN: usize = 24;
/// Tag length.
pub const TAG_LEN: usize = 16;

/// The ChaCha20 block the message starts at: block 0 yields the Poly1305 key.
const FIRST_MESSAGE_BYTE: u64 = 64;

/// Encrypts `plain` into `out` (`plain.len() + TAG_LEN` bytes: ciphertext then tag).
pub(crate) fn seal(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    plain: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    let (ct, tag) = out.split_at_mut(plain.len());
    let mut cipher = XChaCha20::new(key.into(), nonce.into());
    let mac = one_time_mac(&mut cipher);
    cipher.seek(FIRST_MESSAGE_BYTE);
    cipher
        .apply_keystream_b2b(plain, ct)
        .map_err(|_| Error::Open)?;
    tag.copy_from_slice(&authenticate(mac, ct));
    Ok(())
}

/// Checks the tag of `sealed` (ciphertext then tag), then decrypts into `out`
/// (`sealed.len() - TAG_LEN` bytes). Nothing is written to `out` when the tag is wrong.
pub(crate) fn open(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    sealed: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    let Some(ct_len) = sealed.len().checked_sub(TAG_LEN) else {
        return Err(Error::Open);
    };
    let (ct, tag) = sealed.split_at(ct_len);
    let mut cipher = XChaCha20::new(key.into(), nonce.into());
    let mac = one_time_mac(&mut cipher);
    let expected = authenticate(mac, ct);
    if !bool::from(expected.as_slice().ct_eq(tag)) || out.len() != ct_len {
        return Err(Error::Open);
    }
    cipher.seek(FIRST_MESSAGE_BYTE);
    cipher.apply_keystream_b2b(ct, out).map_err(|_| Error::Open)
}

/// The Poly1305 instance keyed by the first 32 keystream bytes.
fn one_time_mac(cipher: &mut XChaCha20) -> Poly1305 {
    let mut key = [0u8; KEY_LEN];
    cipher.apply_keystream(&mut key);
    let mac = Poly1305::new((&key).into());
    sys::wipe(&mut key);
    mac
}

/// Poly1305 over `ct ‖ pad ‖ le64(0) ‖ le64(len(ct))` (no associated data).
fn authenticate(mut mac: Poly1305, ct: &[u8]) -> [u8; TAG_LEN] {
    mac.update_padded(ct);
    let mut lengths = [0u8; 16];
    lengths[8..].copy_from_slice(&(ct.len() as u64).to_le_bytes());
    mac.update(&[lengths.into()]);
    mac.finalize().into()
}
