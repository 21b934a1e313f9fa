//! One guarded allocation: `[guard page][canary | data][guard page]`.
//!
//! The inner pages come from `memfd_secret(2)` where the kernel offers it: such pages are
//! locked, excluded from core dumps and removed from the kernel's own direct map, so not even
//! `/proc/<pid>/mem` can read them. Elsewhere they are private anonymous pages, `mlock`ed,
//! `MADV_DONTDUMP` and `MADV_WIPEONFORK`. The data is pushed against the upper guard page so an
//! overflow faults at once; the canary below it catches an underflow when the region is freed.

use std::ptr::NonNull;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::error::Error;
use crate::pool::{self, Pooled};
use crate::registry;
use crate::sys;

/// Fewest canary bytes below the data.
pub(crate) const CANARY_MIN: usize = 32;

/// Where the inner pages come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backing {
    /// `memfd_secret(2)` pages: locked, undumpable, invisible to the kernel.
    Secret,
    /// Private anonymous pages, locked with `mlock`.
    Anonymous,
}

/// 0: not probed, 1: memfd_secret works, 2: it does not, 3: disabled by the caller.
static SECRETMEM: AtomicU8 = AtomicU8::new(0);

/// Stops using `memfd_secret` for allocations made from now on (tests, and systems where
/// secretmem's memory accounting is unwanted). Existing regions keep their backing.
pub fn prefer_anonymous() {
    SECRETMEM.store(3, Ordering::Relaxed);
}

/// The backing new allocations get.
pub fn backing() -> Backing {
    match SECRETMEM.load(Ordering::Relaxed) {
        0 | 1 => Backing::Secret,
        _ => Backing::Anonymous,
    }
}

/// The random canary, the same for every region of the process.
fn canary() -> &'static [u8; CANARY_MIN] {
    static CANARY: OnceLock<[u8; CANARY_MIN]> = OnceLock::new();
    CANARY.get_or_init(|| {
        let mut c = [0u8; CANARY_MIN];
        // Without randomness the canary still detects overwrites, only predictably.
        if sys::fill_random(&mut c).is_err() {
            c = [0xA5; CANARY_MIN];
        }
        c
    })
}

/// A live guarded mapping. Dropping it checks the canary, wipes and unmaps.
pub(crate) struct Region {
    base: NonNull<u8>,
    inner_len: usize,
    len: usize,
    backing: Backing,
    owner: u32,
    id: u64,
    read_only: bool,
}

// SAFETY: the region owns its mapping exclusively; access goes through `&`/`&mut`.
unsafe impl Send for Region {}
// SAFETY: shared access only reads.
unsafe impl Sync for Region {}

impl Region {
    /// Maps a region holding `len` data bytes, zeroed. When the pages cannot be locked, the
    /// pool's idle locked pages are released and the mapping tried once more.
    pub(crate) fn new(len: usize) -> Result<Region, Error> {
        match Self::map(len) {
            Err(Error::Lock { .. }) => {
                let idle = pool::drain();
                if idle.is_empty() {
                    return Self::map(len);
                }
                idle.into_iter().for_each(release);
                Self::map(len)
            }
            other => other,
        }
    }

    fn map(len: usize) -> Result<Region, Error> {
        if len == 0 {
            return Err(Error::Empty);
        }
        let page = sys::page_size();
        let inner_len = (len + CANARY_MIN).div_ceil(page) * page;
        if let Some(reused) = pool::take(inner_len, backing()) {
            return Ok(Self::reuse(reused, len));
        }
        let total = inner_len + 2 * page;
        // SAFETY: an anonymous PROT_NONE reservation; no existing memory is touched.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                total,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(Error::Map {
                len,
                source: std::io::Error::last_os_error(),
            });
        }
        let Some(base) = NonNull::new(base.cast::<u8>()) else {
            return Err(Error::Map {
                len,
                source: std::io::Error::other("null mapping"),
            });
        };
        let mut region = Region {
            base,
            inner_len,
            len,
            backing: Backing::Anonymous,
            owner: sys::pid(),
            id: 0,
            read_only: false,
        };
        // From here on, dropping `region` unmaps the reservation.
        region.backing = region.populate()?;
        region.id = registry::add_region(
            region.inner_ptr() as usize,
            inner_len,
            region.backing == Backing::Secret,
        );
        region.write_canary();
        Ok(region)
    }

    /// A pooled region (wiped, locked, read-write) taken back into service.
    fn reuse(p: Pooled, len: usize) -> Region {
        let base = NonNull::new(p.base as *mut u8).unwrap_or(NonNull::dangling());
        let mut region = Region {
            base,
            inner_len: p.inner_len,
            len,
            backing: p.backing,
            owner: sys::pid(),
            id: p.id,
            read_only: false,
        };
        region.write_canary();
        region
    }

    fn write_canary(&mut self) {
        let canary_len = self.inner_len - self.len;
        let c = canary();
        for (i, b) in self.inner_mut()[..canary_len].iter_mut().enumerate() {
            *b = c[i % CANARY_MIN];
        }
    }

    /// Backs the inner pages: secretmem if possible, else locked anonymous memory.
    fn populate(&mut self) -> Result<Backing, Error> {
        if SECRETMEM.load(Ordering::Relaxed) <= 1 {
            match self.populate_secret() {
                Ok(true) => {
                    SECRETMEM.store(1, Ordering::Relaxed);
                    return Ok(Backing::Secret);
                }
                Ok(false) => SECRETMEM.store(2, Ordering::Relaxed),
                Err(e) => return Err(e),
            }
        }
        self.populate_anonymous()?;
        Ok(Backing::Anonymous)
    }

    /// `Ok(false)` when the kernel has no secretmem at all.
    fn populate_secret(&mut self) -> Result<bool, Error> {
        // SAFETY: memfd_secret takes flags only.
        let fd = unsafe { libc::syscall(libc::SYS_memfd_secret, libc::O_CLOEXEC) };
        if fd < 0 {
            let err = std::io::Error::last_os_error();
            return match err.raw_os_error() {
                // Not built in, or disabled on the command line (secretmem.enable=0).
                Some(libc::ENOSYS | libc::EINVAL | libc::EPERM | libc::EOPNOTSUPP) => Ok(false),
                _ => Err(Error::Map {
                    len: self.len,
                    source: err,
                }),
            };
        }
        let fd = fd as libc::c_int;
        let result = self.map_secret(fd);
        // SAFETY: `fd` is ours; the mapping keeps the memory alive after close.
        unsafe { libc::close(fd) };
        result.map(|()| true)
    }

    fn map_secret(&mut self, fd: libc::c_int) -> Result<(), Error> {
        let size = libc::off_t::try_from(self.inner_len).map_err(|_| Error::Map {
            len: self.len,
            source: std::io::Error::other("size overflows off_t"),
        })?;
        // SAFETY: `fd` is a valid memfd.
        sys::check(unsafe { libc::ftruncate(fd, size) }).map_err(|e| self.lock_error(e))?;
        // SAFETY: replaces the inner pages of our own reservation, nothing else.
        let p = unsafe {
            libc::mmap(
                self.inner_ptr().cast(),
                self.inner_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_FIXED,
                fd,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            // EAGAIN/ENOMEM/EPERM here is the memlock accounting of secretmem.
            return Err(self.lock_error(std::io::Error::last_os_error()));
        }
        // A shared mapping would be shared with a forked child: keep it out of children (the
        // fork handler maps zeros in its place).
        self.advise(libc::MADV_DONTFORK)?;
        // Already set by the kernel for secretmem; asked again so it shows in smaps everywhere.
        self.advise(libc::MADV_DONTDUMP)?;
        Ok(())
    }

    fn populate_anonymous(&mut self) -> Result<(), Error> {
        let inner = self.inner_ptr();
        // SAFETY: the inner pages belong to our reservation.
        sys::check(unsafe {
            libc::mprotect(
                inner.cast(),
                self.inner_len,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        })
        .map_err(Error::Protect)?;
        // SAFETY: as above.
        sys::check(unsafe { libc::mlock(inner.cast(), self.inner_len) })
            .map_err(|e| self.lock_error(e))?;
        self.advise(libc::MADV_DONTDUMP)?;
        if self.advise(libc::MADV_WIPEONFORK).is_err() {
            // Kernels before 4.14: the child gets no copy at all.
            self.advise(libc::MADV_DONTFORK)?;
        }
        Ok(())
    }

    fn advise(&self, advice: libc::c_int) -> Result<(), Error> {
        // SAFETY: advice on our own inner pages.
        sys::check(unsafe { libc::madvise(self.inner_ptr().cast(), self.inner_len, advice) })
            .map_err(Error::Protect)
    }

    fn lock_error(&self, source: std::io::Error) -> Error {
        Error::Lock {
            len: self.inner_len,
            limit: sys::memlock_limit(),
            source,
        }
    }

    fn inner_ptr(&self) -> *mut u8 {
        // SAFETY: the reservation is `inner_len + 2 * page` bytes long.
        unsafe { self.base.as_ptr().add(sys::page_size()) }
    }

    fn inner_mut(&mut self) -> &mut [u8] {
        // SAFETY: the inner pages are mapped read-write while we hold `&mut self` (callers
        // melt before writing).
        unsafe { std::slice::from_raw_parts_mut(self.inner_ptr(), self.inner_len) }
    }

    fn inner(&self) -> &[u8] {
        // SAFETY: the inner pages are mapped readable for the region's whole life.
        unsafe { std::slice::from_raw_parts(self.inner_ptr(), self.inner_len) }
    }

    /// The data bytes.
    pub(crate) fn data(&self) -> &[u8] {
        &self.inner()[self.inner_len - self.len..]
    }

    /// The data bytes, writable. Faults if the region is frozen.
    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        let start = self.inner_len - self.len;
        &mut self.inner_mut()[start..]
    }

    /// The backing of this region.
    pub(crate) fn backing(&self) -> Backing {
        self.backing
    }

    /// Makes the inner pages read-only (`true`) or read-write.
    pub(crate) fn protect(&mut self, read_only: bool) -> Result<(), Error> {
        let prot = if read_only {
            libc::PROT_READ
        } else {
            libc::PROT_READ | libc::PROT_WRITE
        };
        // SAFETY: our own inner pages.
        sys::check(unsafe { libc::mprotect(self.inner_ptr().cast(), self.inner_len, prot) })
            .map_err(Error::Protect)?;
        self.read_only = read_only;
        Ok(())
    }

    fn canary_intact(&self) -> bool {
        let c = canary();
        let canary_len = self.inner_len - self.len;
        let mut diff = 0u8;
        for (i, b) in self.inner()[..canary_len].iter().enumerate() {
            diff |= b ^ c[i % CANARY_MIN];
        }
        diff == 0
    }
}

/// Unmaps a pooled (already wiped) region.
fn release(p: Pooled) {
    registry::remove_region(p.id);
    let total = p.inner_len + 2 * sys::page_size();
    // SAFETY: the pool owned this mapping exclusively; nothing refers to it.
    unsafe { libc::munmap(p.base as *mut libc::c_void, total) };
}

impl Drop for Region {
    fn drop(&mut self) {
        // A forked child holds zeros where the parent's secrets were: no canary to check.
        // id 0: population failed part-way (a failed MAP_FIXED may even have left a hole), so
        // nothing was written and nothing may be touched: only unmap.
        if self.id != 0 {
            let ours = self.owner == sys::pid();
            if ours && !self.canary_intact() {
                // Something wrote below the data: the heap of secrets is corrupt. Stop.
                eprintln!("cairn-secmem: canary of a secret buffer was overwritten; aborting");
                std::process::abort();
            }
            let writable = !self.read_only || self.protect(false).is_ok();
            sys::wipe(self.inner_mut());
            if ours && writable {
                let offered = Pooled {
                    base: self.base.as_ptr() as usize,
                    inner_len: self.inner_len,
                    backing: self.backing,
                    id: self.id,
                };
                if pool::give(offered).is_ok() {
                    return;
                }
            }
            registry::remove_region(self.id);
        }
        let total = self.inner_len + 2 * sys::page_size();
        // SAFETY: unmaps exactly the reservation made in `new`; no reference outlives `self`.
        unsafe { libc::munmap(self.base.as_ptr().cast(), total) };
    }
}
