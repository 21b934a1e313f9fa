#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! `purge` destroys every buffer of the process, so it has this test binary to itself.

use std::time::Duration;

use cairn_secmem::{Error, LockedBuffer, live_buffer_count, purge};

#[test]
fn purge_destroys_buffers_and_the_session_key() {
    let mut key = LockedBuffer::random(32).unwrap();
    let enclave = LockedBuffer::random(64).unwrap().seal().unwrap();
    // The split session key is re-randomised every 500 ms; enclaves must still open.
    std::thread::sleep(Duration::from_millis(1_200));
    assert_eq!(enclave.open().unwrap().len(), 64);
    assert_eq!(live_buffer_count(), 1);

    purge();
    assert!(!key.is_alive());
    assert!(key.bytes().is_empty());
    assert!(matches!(key.bytes_mut(), Err(Error::Destroyed)));
    assert!(matches!(key.freeze(), Err(Error::Destroyed)));
    assert_eq!(live_buffer_count(), 1, "the handle lives on, empty");
    drop(key);
    assert_eq!(live_buffer_count(), 0);
    assert!(
        matches!(enclave.open(), Err(Error::Open)),
        "an enclave sealed before the purge still opened"
    );
    // Life goes on with a new key.
    let fresh = LockedBuffer::random(8).unwrap().seal().unwrap();
    assert_eq!(fresh.open().unwrap().len(), 8);
}
