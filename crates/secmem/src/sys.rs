//! Thin, checked wrappers over the system calls this crate needs.
//!
//! Every `unsafe` block of the crate that talks to the kernel is here or in `region`.

use std::io;

use crate::error::Error;

/// The page size, asked once.
pub(crate) fn page_size() -> usize {
    static PAGE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf has no memory-safety preconditions.
        let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(n).ok().filter(|&n| n > 0).unwrap_or(4096)
    })
}

/// Fills `buf` from the kernel's CSPRNG.
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), Error> {
    getrandom::getrandom(buf).map_err(|e| Error::Random(e.to_string()))
}

/// Overwrites `buf` with zeros in a way the compiler may not elide.
pub(crate) fn wipe(buf: &mut [u8]) {
    // SAFETY: `buf` is a valid, writable slice of `buf.len()` bytes.
    unsafe { libc::explicit_bzero(buf.as_mut_ptr().cast(), buf.len()) }
}

/// The current process id.
pub(crate) fn pid() -> u32 {
    // SAFETY: getpid cannot fail and has no preconditions.
    let pid = unsafe { libc::getpid() };
    pid.unsigned_abs()
}

/// The soft RLIMIT_MEMLOCK as text, for error messages.
pub(crate) fn memlock_limit() -> String {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit to write into.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut lim) } != 0 {
        return "unknown".into();
    }
    if lim.rlim_cur == libc::RLIM_INFINITY {
        "unlimited".into()
    } else {
        format!("{} bytes", lim.rlim_cur)
    }
}

/// `Ok(())` when a libc call returned 0, the errno otherwise.
pub(crate) fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
