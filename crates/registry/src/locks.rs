//! Per-digest mutual exclusion between uploads and deletes of the same artifact.
//!
//! Without it, an upload could rename its blob into place just before a concurrent delete
//! removes the blob, then index rows pointing at nothing.

use tokio::sync::{Mutex, MutexGuard};

use crate::digest::Digest;

const STRIPES: usize = 64;

/// Striped locks keyed by digest.
#[derive(Debug)]
pub(crate) struct DigestLocks {
    stripes: Vec<Mutex<()>>,
}

impl DigestLocks {
    pub(crate) fn new() -> Self {
        DigestLocks {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }

    /// Waits for exclusive use of `digest`.
    pub(crate) async fn lock(&self, digest: &Digest) -> MutexGuard<'_, ()> {
        self.stripes[usize::from(digest.as_bytes()[0]) % STRIPES]
            .lock()
            .await
    }
}
