//! Every live region and buffer of the process: `purge` destroys the buffers, and a forked
//! child gets zeros where the parent's secretmem pages were.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once, Weak};

use parking_lot::Mutex;

use crate::buffer::Cell;

/// Live regions backed by secretmem: id → (inner address, inner length).
static SECRET_REGIONS: Mutex<Option<HashMap<u64, (usize, usize)>>> = Mutex::new(None);
/// Live user buffers, for `purge`.
static BUFFERS: Mutex<Option<HashMap<u64, Weak<Cell>>>> = Mutex::new(None);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static FORK_HANDLER: Once = Once::new();

/// Records a region; returns its id (never 0).
pub(crate) fn add_region(addr: usize, len: usize, secret: bool) -> u64 {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    if secret {
        FORK_HANDLER.call_once(install_fork_handler);
        SECRET_REGIONS
            .lock()
            .get_or_insert_with(HashMap::new)
            .insert(id, (addr, len));
    }
    id
}

/// Forgets a region.
pub(crate) fn remove_region(id: u64) {
    if let Some(map) = SECRET_REGIONS.lock().as_mut() {
        map.remove(&id);
    }
}

/// Records a buffer; returns its id.
pub(crate) fn add_buffer(cell: &Arc<Cell>) -> u64 {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    BUFFERS
        .lock()
        .get_or_insert_with(HashMap::new)
        .insert(id, Arc::downgrade(cell));
    id
}

/// Forgets a buffer.
pub(crate) fn remove_buffer(id: u64) {
    if let Some(map) = BUFFERS.lock().as_mut() {
        map.remove(&id);
    }
}

/// Every live buffer, strongly held for the caller.
pub(crate) fn live_buffers() -> Vec<Arc<Cell>> {
    BUFFERS
        .lock()
        .as_ref()
        .map(|m| m.values().filter_map(Weak::upgrade).collect())
        .unwrap_or_default()
}

/// Number of live user buffers.
pub fn live_buffer_count() -> usize {
    BUFFERS.lock().as_ref().map_or(0, HashMap::len)
}

fn install_fork_handler() {
    // SAFETY: the three handlers are `extern "C"` functions valid for the process's life.
    unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
}

/// Holds the region lock across `fork` so the child never inherits it held by a thread that
/// does not exist there.
extern "C" fn prepare() {
    std::mem::forget(SECRET_REGIONS.lock());
}

extern "C" fn parent() {
    // SAFETY: `prepare` left the lock held by this thread.
    unsafe { SECRET_REGIONS.force_unlock() };
}

/// In the child, secretmem pages were not inherited (`MADV_DONTFORK`): map zeros in their
/// place so the child sees zeros, not a hole, and can unmap them as usual.
extern "C" fn child() {
    // SAFETY: `prepare` left the lock held; the child has only this thread.
    let map = unsafe { &*SECRET_REGIONS.data_ptr() };
    if let Some(map) = map {
        for &(addr, len) in map.values() {
            // SAFETY: the range was the parent's secretmem mapping, absent in the child.
            unsafe {
                libc::mmap(
                    addr as *mut libc::c_void,
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                );
            }
        }
    }
    // SAFETY: as in `parent`.
    unsafe { SECRET_REGIONS.force_unlock() };
}
