//! Faults a child must die of: touching a guard page, writing a frozen buffer, destroying a
//! buffer whose canary was overwritten.

use crate::{both, run, signal_of};

#[test]
fn touching_a_guard_page_is_sigsegv() {
    for anonymous in both() {
        for name in ["guard-upper", "guard-lower"] {
            let (status, out) = run(name, anonymous);
            assert_eq!(
                signal_of(status),
                Some(libc::SIGSEGV),
                "{name}: {status:?}\n{out}"
            );
            assert!(!out.contains("read "), "{out}");
        }
    }
}

#[test]
fn writing_a_frozen_buffer_is_sigsegv() {
    for anonymous in both() {
        let (status, out) = run("frozen-write", anonymous);
        assert_eq!(signal_of(status), Some(libc::SIGSEGV), "{status:?}\n{out}");
        assert!(!out.contains("wrote a frozen"), "{out}");
    }
}

#[test]
fn a_broken_canary_aborts_on_destroy() {
    for anonymous in both() {
        let (status, out) = run("canary", anonymous);
        assert_eq!(signal_of(status), Some(libc::SIGABRT), "{status:?}\n{out}");
        assert!(
            out.contains("canary of a secret buffer was overwritten"),
            "{out}"
        );
        assert!(!out.contains("destroyed a buffer"), "{out}");
    }
}
