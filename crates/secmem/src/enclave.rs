//! `Enclave`: a secret encrypted under the session key while it is not in use.

use crate::buffer::LockedBuffer;
use crate::cipher::{self, NONCE_LEN, TAG_LEN};
use crate::coffer;
use crate::error::Error;
use crate::sys;

/// A sealed secret: XChaCha20-Poly1305 under the process's session key, with a fresh random
/// nonce per seal. The ciphertext may live in ordinary memory; only `open` recovers the
/// plaintext, and only into a [`LockedBuffer`].
#[derive(Clone)]
pub struct Enclave {
    /// nonce ‖ ciphertext ‖ tag
    sealed: Box<[u8]>,
}

impl std::fmt::Debug for Enclave {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Enclave({} bytes)", self.len())
    }
}

impl Enclave {
    /// Seals the buffer's contents and destroys the buffer.
    pub fn seal(buffer: LockedBuffer) -> Result<Self, Error> {
        let enclave = Self::seal_slice(&buffer.bytes())?;
        buffer.destroy();
        Ok(enclave)
    }

    /// Seals `src` and wipes it.
    pub fn from_bytes(src: &mut [u8]) -> Result<Self, Error> {
        let enclave = Self::seal_slice(src);
        sys::wipe(src);
        enclave
    }

    /// Seals a plaintext the caller keeps in guarded memory (or wipes itself).
    pub(crate) fn seal_slice(plain: &[u8]) -> Result<Self, Error> {
        if plain.is_empty() {
            return Err(Error::Empty);
        }
        let mut sealed = vec![0u8; NONCE_LEN + plain.len() + TAG_LEN].into_boxed_slice();
        let (nonce, body) = sealed.split_at_mut(NONCE_LEN);
        sys::fill_random(nonce)?;
        let nonce: &[u8; NONCE_LEN] = (&*nonce).try_into().map_err(|_| Error::Open)?;
        coffer::with_key(|key| cipher::seal(key, nonce, plain, body))??;
        Ok(Enclave { sealed })
    }

    /// Decrypts into a new [`LockedBuffer`]. A damaged enclave, or one sealed before a
    /// `purge`, is refused before any plaintext is written.
    pub fn open(&self) -> Result<LockedBuffer, Error> {
        let (nonce, body) = self.sealed.split_at(NONCE_LEN);
        let nonce: &[u8; NONCE_LEN] = nonce.try_into().map_err(|_| Error::Open)?;
        let mut out = LockedBuffer::new(self.len())?;
        {
            let mut plain = out.bytes_mut()?;
            coffer::with_key(|key| cipher::open(key, nonce, body, &mut plain))??;
        }
        Ok(out)
    }

    /// Length of the secret.
    pub fn len(&self) -> usize {
        self.sealed.len() - NONCE_LEN - TAG_LEN
    }

    /// Never true: empty secrets cannot be sealed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sealed bytes (nonce, ciphertext, tag), for tests that tamper with them.
    #[doc(hidden)]
    pub fn sealed_bytes_mut(&mut self) -> &mut [u8] {
        &mut self.sealed
    }
}
