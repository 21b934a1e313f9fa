//! Wiped regions kept for reuse.
//!
//! A fresh secretmem page costs a fault that removes it from the kernel's direct map and
//! flushes the TLB, and unmapping it costs the same again: about 40 µs for a one-page
//! buffer, twice what `mlock`ed anonymous memory costs. Keeping a few freed regions, wiped,
//! locked and still between their guard pages, makes the next allocation of the same size
//! free of system calls. The pool is bounded in count and bytes; beyond it regions are
//! unmapped as usual.

use parking_lot::Mutex;

use crate::region::Backing;

/// Most regions kept.
const MAX_REGIONS: usize = 64;
/// Most bytes (inner pages) kept.
const MAX_BYTES: usize = 4 << 20;

/// A wiped region waiting for reuse.
pub(crate) struct Pooled {
    /// Start of the lower guard page.
    pub(crate) base: usize,
    /// Inner length in bytes.
    pub(crate) inner_len: usize,
    /// Its backing.
    pub(crate) backing: Backing,
    /// Its registry id.
    pub(crate) id: u64,
}

static POOL: Mutex<Vec<Pooled>> = Mutex::new(Vec::new());

/// A pooled region of exactly `inner_len` bytes and this backing, if any.
pub(crate) fn take(inner_len: usize, backing: Backing) -> Option<Pooled> {
    let mut pool = POOL.lock();
    let at = pool
        .iter()
        .rposition(|p| p.inner_len == inner_len && p.backing == backing)?;
    Some(pool.swap_remove(at))
}

/// Offers a wiped region; gives it back when the pool is full.
pub(crate) fn give(region: Pooled) -> Result<(), Pooled> {
    let mut pool = POOL.lock();
    let bytes: usize = pool.iter().map(|p| p.inner_len).sum();
    if pool.len() >= MAX_REGIONS || bytes + region.inner_len > MAX_BYTES {
        return Err(region);
    }
    pool.push(region);
    Ok(())
}

/// Empties the pool, handing back every region (to be unmapped) so its locked pages count
/// against RLIMIT_MEMLOCK no more.
pub(crate) fn drain() -> Vec<Pooled> {
    std::mem::take(&mut *POOL.lock())
}
