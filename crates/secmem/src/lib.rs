//! Guarded, locked, encrypted memory for secrets: memguard's model, for Rust, with
//! `memfd_secret(2)`.
//!
//! - [`LockedBuffer`]: a secret between two guard pages, above a canary, in pages that are
//!   locked in RAM, left out of core dumps and of forked children, and wiped before release.
//!   Where the kernel offers secretmem the pages are also removed from the kernel's direct
//!   map. Nothing hands the secret out as an ordinary `Vec` or `String`.
//! - [`Enclave`]: a secret at rest, XChaCha20-Poly1305-encrypted under a session key that is
//!   itself split in guarded memory and re-randomised every 500 ms. `open` authenticates
//!   before it decrypts, straight into a `LockedBuffer`.
//! - [`Stream`]: large secrets as a queue of sealed chunks.
//! - Process hygiene: [`purge`], [`safe_exit`], [`catch_signal`], [`disable_core_dumps`],
//!   [`scrub_stack`].
//!
//! Failures (a low RLIMIT_MEMLOCK above all) are [`Error`] values: nothing here panics or
//! blocks on them. This crate is the only one in Cairn that holds `unsafe` code for memory.
//!
//! ```
//! use cairn_secmem::LockedBuffer;
//! let key = LockedBuffer::random(32)?;
//! let sealed = key.seal()?;            // the buffer is destroyed, the secret encrypted
//! let opened = sealed.open()?;         // decrypted into fresh guarded memory
//! assert_eq!(opened.len(), 32);
//! # Ok::<(), cairn_secmem::Error>(())
//! ```

mod audit;
mod buffer;
mod cipher;
mod coffer;
mod enclave;
mod error;
mod pem;
mod pool;
mod process;
mod region;
mod registry;
mod stream;
mod sys;

pub use audit::{MemoryScan, scan_process};
pub use buffer::{Bytes, BytesMut, LockedBuffer};
pub use enclave::Enclave;
pub use error::Error;
pub use pem::{MAX_PEM, PemSecret, decode_pem, encode_pem, read_pem_file, write_secret_file};
pub use process::{
    catch_interrupt, catch_signal, disable_core_dumps, purge, safe_exit, scrub_stack,
};
pub use region::{Backing, backing, prefer_anonymous};
pub use registry::live_buffer_count;
pub use stream::{CHUNK, Stream};

#[doc(hidden)]
/// The raw AEAD, exposed for the interoperability test against `chacha20poly1305`.
pub mod raw {
    pub use crate::cipher::{KEY_LEN, NONCE_LEN, TAG_LEN};

    /// Encrypts `plain` into `out` (`plain.len() + TAG_LEN` bytes).
    pub fn seal(
        key: &[u8; KEY_LEN],
        nonce: &[u8; NONCE_LEN],
        plain: &[u8],
        out: &mut [u8],
    ) -> Result<(), crate::Error> {
        crate::cipher::seal(key, nonce, plain, out)
    }

    /// Authenticates and decrypts `sealed` into `out`.
    pub fn open(
        key: &[u8; KEY_LEN],
        nonce: &[u8; NONCE_LEN],
        sealed: &[u8],
        out: &mut [u8],
    ) -> Result<(), crate::Error> {
        crate::cipher::open(key, nonce, sealed, out)
    }
}
