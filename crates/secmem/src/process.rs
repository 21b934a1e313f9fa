//! Process hygiene: purge, exit, signals, core dumps.

use crate::coffer;
use crate::error::Error;
use crate::registry;
use crate::sys;

/// Destroys every live [`LockedBuffer`](crate::LockedBuffer) and replaces the session key,
/// so no earlier [`Enclave`](crate::Enclave) opens either. Buffers still held read as empty.
pub fn purge() {
    coffer::replace_key();
    for cell in registry::live_buffers() {
        cell.destroy();
    }
}

/// Purges, then exits with `code`.
pub fn safe_exit(code: i32) -> ! {
    purge();
    std::process::exit(code)
}

/// On SIGINT, purge and exit with status 1.
pub fn catch_interrupt() -> Result<(), Error> {
    catch_signal(&[signal_hook::consts::SIGINT], |_| {})
}

/// On any of `signals`, run `handler` (on an ordinary thread, not in signal context), then
/// purge and exit with status 1.
pub fn catch_signal(
    signals: &[libc::c_int],
    handler: impl FnOnce(libc::c_int) + Send + 'static,
) -> Result<(), Error> {
    let mut incoming = signal_hook::iterator::Signals::new(signals).map_err(Error::Signal)?;
    std::thread::Builder::new()
        .name("secmem-signals".into())
        .spawn(move || {
            if let Some(signal) = incoming.forever().next() {
                handler(signal);
                safe_exit(1);
            }
        })
        .map_err(Error::Signal)?;
    Ok(())
}

/// Turns core dumps off (RLIMIT_CORE 0) and marks the process undumpable, which also keeps
/// other processes of the same user from reading its memory through ptrace or /proc.
pub fn disable_core_dumps() -> Result<(), Error> {
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a valid rlimit value.
    sys::check(unsafe { libc::setrlimit(libc::RLIMIT_CORE, &zero) }).map_err(Error::Protect)?;
    // SAFETY: PR_SET_DUMPABLE takes an integer argument.
    sys::check(unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) }).map_err(Error::Protect)
}

/// Overwrites the 32 KiB of stack below the caller, where key schedules and other temporaries
/// of a signing call just returned may linger. Call it right after using a key.
#[inline(never)]
pub fn scrub_stack() {
    let mut area = [0u8; 32 * 1024];
    sys::wipe(&mut area);
    std::hint::black_box(&area);
}
