//! The process's session key, split in guarded memory: `key = left XOR SHA-256(right)`.
//!
//! Neither half alone reveals the key, and a background thread re-randomises the split every
//! 500 ms (the key itself stays the same, so enclaves stay openable), so a snapshot of one
//! half is soon useless. `purge` replaces the key: enclaves sealed before it no longer open.

use std::sync::{Mutex, MutexGuard, Once};

use std::time::Duration;

use sha2::{Digest as _, Sha256};

use crate::cipher::KEY_LEN;
use crate::error::Error;
use crate::region::Region;
use crate::sys;

/// How often the halves are re-randomised.
const REKEY_INTERVAL: Duration = Duration::from_millis(500);

struct Coffer {
    left: Region,
    right: Region,
    /// Scratch for the assembled key; zero between uses.
    key: Region,
}

static COFFER: Mutex<Option<Coffer>> = Mutex::new(None);
static REKEY_THREAD: Once = Once::new();

fn lock() -> MutexGuard<'static, Option<Coffer>> {
    COFFER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Coffer {
    fn new() -> Result<Coffer, Error> {
        let mut c = Coffer {
            left: Region::new(KEY_LEN)?,
            right: Region::new(KEY_LEN)?,
            key: Region::new(KEY_LEN)?,
        };
        c.randomise()?;
        Ok(c)
    }

    /// A brand-new key.
    fn randomise(&mut self) -> Result<(), Error> {
        sys::fill_random(self.left.data_mut())?;
        sys::fill_random(self.right.data_mut())
    }

    /// Same key, new halves: `left ^= H(right) ^ H(right')`.
    fn rekey(&mut self) -> Result<(), Error> {
        let mut old = hash(self.right.data());
        sys::fill_random(self.right.data_mut())?;
        let mut new = hash(self.right.data());
        for ((l, o), n) in self.left.data_mut().iter_mut().zip(&old).zip(&new) {
            *l ^= o ^ n;
        }
        sys::wipe(&mut old);
        sys::wipe(&mut new);
        Ok(())
    }

    /// Assembles the key in its scratch region.
    fn assemble(&mut self) -> Result<&[u8; KEY_LEN], Error> {
        let mut h = hash(self.right.data());
        let left = self.left.data();
        for ((k, l), h) in self.key.data_mut().iter_mut().zip(left).zip(&h) {
            *k = l ^ h;
        }
        sys::wipe(&mut h);
        self.key.data().try_into().map_err(|_| Error::Open)
    }
}

fn hash(data: &[u8]) -> [u8; KEY_LEN] {
    Sha256::digest(data).into()
}

/// Runs `f` with the session key, creating it on first use; the key is wiped afterwards.
pub(crate) fn with_key<R>(f: impl FnOnce(&[u8; KEY_LEN]) -> R) -> Result<R, Error> {
    let mut guard = lock();
    if guard.is_none() {
        *guard = Some(Coffer::new()?);
        REKEY_THREAD.call_once(spawn_rekey_thread);
    }
    let Some(coffer) = guard.as_mut() else {
        return Err(Error::Destroyed);
    };
    let result = coffer.assemble().map(f);
    sys::wipe(coffer.key.data_mut());
    result
}

/// Destroys the session key; the next seal makes a new one, so no earlier enclave opens.
pub(crate) fn replace_key() {
    let old = lock().take();
    drop(old);
}

fn spawn_rekey_thread() {
    let spawned = std::thread::Builder::new()
        .name("secmem-rekey".into())
        .spawn(|| {
            loop {
                std::thread::sleep(REKEY_INTERVAL);
                if let Some(c) = lock().as_mut() {
                    // A CSPRNG failure keeps the current split, which is still correct.
                    let _ = c.rekey();
                }
            }
        });
    // Without the thread the split is only static: still correct, a little weaker.
    drop(spawned);
}
