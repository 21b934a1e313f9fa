//! Where secret pages live: locked, left out of core dumps, and zeros in a forked child.

use crate::{both, page, report, run};

#[test]
fn pages_are_locked_and_left_out_of_dumps() {
    // Anonymous pages: VmLck grows by exactly the inner pages; smaps flags say locked (lo),
    // don't dump (dd) and wipe on fork (wf).
    let (status, out) = run("locked", true);
    assert!(status.success(), "{out}");
    let line = report(&out, "backing");
    assert!(line.starts_with("Anonymous "), "{line}");
    let inner = 4 * page() / 1024;
    assert!(
        line.contains(&format!("vmlck_delta_kib {inner} ")),
        "{line}"
    );
    for flag in [" lo", " dd", " wf"] {
        assert!(line.contains(flag), "missing{flag}: {line}");
    }

    // memfd_secret: the mapping is the secretmem file, locked and undumpable by the kernel.
    let (status, out) = run("locked", false);
    assert!(status.success(), "{out}");
    let line = report(&out, "backing");
    if line.starts_with("Secret ") {
        // The kernel accounts secretmem pages as locked, too.
        assert!(
            line.contains(&format!("vmlck_delta_kib {inner} ")),
            "{line}"
        );
        assert!(line.contains("\"/secretmem\""), "{line}");
        // lo: locked, dd: not dumped, dc: not copied into a forked child.
        for flag in [" lo", " dd", " dc"] {
            assert!(line.contains(flag), "missing{flag}: {line}");
        }
    } else {
        // Only a kernel without secretmem may fall back; this machine's must not.
        assert!(
            !std::path::Path::new("/sys/kernel/mm/secretmem").exists() && !secretmem_works(),
            "secretmem is available but was not used: {line}"
        );
    }
}

fn secretmem_works() -> bool {
    // SAFETY: probing the syscall; the fd is closed at once.
    let fd = unsafe { libc::syscall(libc::SYS_memfd_secret, libc::O_CLOEXEC) };
    if fd >= 0 {
        unsafe { libc::close(fd as i32) };
    }
    fd >= 0
}

#[test]
fn a_forked_child_sees_zeros() {
    for anonymous in both() {
        let (status, out) = run("fork", anonymous);
        assert!(status.success(), "{out}");
        assert_eq!(
            report(&out, "child"),
            "exited 0 signalled false",
            "anonymous={anonymous}\n{out}"
        );
    }
}
