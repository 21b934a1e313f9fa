//! Caught signals: the handler runs, then the buffers are purged and the process exits.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use cairn_secmem::Backing;

use crate::{marked, scenario};

#[test]
fn a_caught_signal_runs_the_handler_then_purges_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let mut child = scenario("signal", false);
    child.env("SECMEM_MARKER", &marker).stdout(Stdio::piped());
    let mut child = child.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| marked(&l.unwrap(), "ready").is_some()));
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{status:?}");
    let handled = std::fs::read_to_string(&marker).unwrap();
    assert_eq!(handled, format!("handled {} with 1 live", libc::SIGTERM));
    let _ = Backing::Secret;
}
