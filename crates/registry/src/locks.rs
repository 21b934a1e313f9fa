//! Per-digest mutual exclusion between uploads and deletes of the same artifact.
//!
//! Without it, an upload could put its blob into place just before a concurrent delete
//! removes the blob, then index rows pointing at nothing. Within a process striped mutexes
//! do it; instances sharing a PostgreSQL database also take an advisory lock on the digest,
//! so the exclusion holds across machines.

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgPool, Postgres};
use tokio::sync::{Mutex, MutexGuard, Semaphore, SemaphorePermit};

use crate::digest::Digest;
use crate::error::Error;

const STRIPES: usize = 64;
/// First key of the two-key advisory locks on digests ("cair"); the log leader's lock is a
/// one-key lock, a separate key space.
const DIGEST_LOCK_CLASS: i32 = 0x6361_6972;
/// First key of the advisory locks on package names and versions ("cpkg"): their own key
/// space, so a package's name lock and its digest's lock never collide.
const NAME_LOCK_CLASS: i32 = 0x6370_6b67;

/// Shared locks held at once by one process. Each holds a database connection for its
/// length, and the work under it needs others: a third of the pool (24, of which the change
/// listeners hold 3), so holders never starve the work they wait for.
const SHARED_HOLDERS: usize = 8;
/// Shared name locks held at once: their own permits, since a name lock's holder then waits
/// for a digest lock (sharing the permits, eight name holders could starve every digest).
const NAME_HOLDERS: usize = 4;

/// Striped locks keyed by digest, and a second set keyed by package name and version.
///
/// The order is fixed: a name lock, then a digest lock, never the reverse, and never two of
/// one set at once (two stripes of one set can be the same mutex).
#[derive(Debug)]
pub(crate) struct DigestLocks {
    stripes: Vec<Mutex<()>>,
    holders: Semaphore,
    names: Vec<Mutex<()>>,
    name_holders: Semaphore,
}

/// Exclusive use of a digest until dropped.
#[derive(Debug)]
pub(crate) struct DigestGuard<'a> {
    _local: MutexGuard<'a, ()>,
    shared: Option<PoolConnection<Postgres>>,
    _permit: Option<SemaphorePermit<'a>>,
}

impl DigestLocks {
    pub(crate) fn new() -> Self {
        DigestLocks {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            holders: Semaphore::new(SHARED_HOLDERS),
            names: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            name_holders: Semaphore::new(NAME_HOLDERS),
        }
    }

    /// Waits for exclusive use of `digest` in this process and, with `shared`, across every
    /// instance on that database.
    pub(crate) async fn lock(
        &self,
        digest: &Digest,
        shared: Option<&PgPool>,
    ) -> Result<DigestGuard<'_>, Error> {
        let set = (&self.stripes[..], &self.holders, DIGEST_LOCK_CLASS);
        Self::take(set, digest, shared).await
    }

    /// Waits for exclusive use of a package name and version (`key`, a hash of both),
    /// taken before the lock of the package's digest.
    pub(crate) async fn lock_name(
        &self,
        key: &Digest,
        shared: Option<&PgPool>,
    ) -> Result<DigestGuard<'_>, Error> {
        let set = (&self.names[..], &self.name_holders, NAME_LOCK_CLASS);
        Self::take(set, key, shared).await
    }

    async fn take<'a>(
        (stripes, holders, class): (&'a [Mutex<()>], &'a Semaphore, i32),
        digest: &Digest,
        shared: Option<&PgPool>,
    ) -> Result<DigestGuard<'a>, Error> {
        let local = stripes[usize::from(digest.as_bytes()[0]) % STRIPES]
            .lock()
            .await;
        let (shared, permit) = match shared {
            None => (None, None),
            Some(pool) => {
                let permit = holders
                    .acquire()
                    .await
                    .map_err(|e| Error::Internal(e.to_string()))?;
                // Until the lock is granted, a dropped future (a client that went away)
                // closes the session, which gives up whatever the server granted; handing a
                // connection with a pending lock back to the pool would keep the lock.
                let mut pending = Pending(Some(pool.acquire().await?));
                let key = i32::from_be_bytes([
                    digest.as_bytes()[0],
                    digest.as_bytes()[1],
                    digest.as_bytes()[2],
                    digest.as_bytes()[3],
                ]);
                if let Some(conn) = pending.0.as_mut() {
                    sqlx::query("SELECT pg_advisory_lock($1, $2)")
                        .bind(class)
                        .bind(key)
                        .execute(&mut **conn)
                        .await?;
                }
                let conn = pending.0.take();
                (conn, Some(permit))
            }
        };
        Ok(DigestGuard {
            _local: local,
            shared,
            _permit: permit,
        })
    }
}

/// A connection asking for a lock: closed, not pooled, if dropped before the lock is held.
struct Pending(Option<PoolConnection<Postgres>>);

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            drop(conn.detach());
        }
    }
}

impl Drop for DigestGuard<'_> {
    fn drop(&mut self) {
        let Some(mut conn) = self.shared.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime to unlock on: closing the session releases its locks.
            drop(conn.detach());
            return;
        };
        runtime.spawn(async move {
            let unlocked = sqlx::query("SELECT pg_advisory_unlock_all()")
                .execute(&mut *conn)
                .await
                .is_ok();
            if !unlocked {
                // Never hand a connection that may still hold the lock back to the pool.
                drop(conn.detach());
            }
        });
    }
}
