#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Properties only another process can witness: faults, aborts, locking, dump exclusion,
//! fork, memory scans and resource limits. Each scenario runs in a fresh copy of this test
//! binary (`SECMEM_SCENARIO` picks it), so its memory and counters are its own.
//!
//! This file holds the harness (running a scenario, reading its `@@` report lines) and the
//! `scenario_entry` a child runs; the scenarios' longer bodies are in `scenarios.rs`, and the
//! tests, by theme, in `faults.rs`, `pages.rs`, `scan.rs`, `limits.rs` and `signals.rs`.

mod faults;
mod limits;
mod pages;
mod scan;
mod scenarios;
mod signals;

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};

use cairn_secmem::LockedBuffer;
use scenarios::{scenario_fork, scenario_locked, scenario_memlock, scenario_scan};

const SCENARIO: &str = "SECMEM_SCENARIO";

fn page() -> usize {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

/// A command running `scenario` in a copy of this binary.
fn scenario(name: &str, anonymous: bool) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "scenario_entry",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(SCENARIO, name)
    .env("SECMEM_ANONYMOUS", if anonymous { "1" } else { "0" });
    cmd
}

fn run(name: &str, anonymous: bool) -> (ExitStatus, String) {
    let out = scenario(name, anonymous).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status, text)
}

fn both() -> [bool; 2] {
    [false, true]
}

/// The scenarios, run only in a child.
#[test]
fn scenario_entry() {
    let Ok(name) = std::env::var(SCENARIO) else {
        return;
    };
    if std::env::var("SECMEM_ANONYMOUS").as_deref() == Ok("1") {
        cairn_secmem::prefer_anonymous();
    }
    match name.as_str() {
        "guard-upper" => {
            // A freed region is pooled and reused: its guard pages must still be there.
            drop(LockedBuffer::random(32).unwrap());
            let b = LockedBuffer::new(32).unwrap();
            let p = b.bytes().as_ptr();
            // SAFETY (deliberately not): the byte after the data is the upper guard page.
            let x = unsafe { std::ptr::read_volatile(p.add(32)) };
            println!("read past the end: {x}");
        }
        "guard-lower" => {
            let b = LockedBuffer::new(32).unwrap();
            let p = b.bytes().as_ptr();
            // The inner region is one page; the byte before it is the lower guard page.
            let x = unsafe { std::ptr::read_volatile(p.sub(page() - 32 + 1)) };
            println!("read before the start: {x}");
        }
        "frozen-write" => {
            let b = LockedBuffer::new(32).unwrap();
            b.freeze().unwrap();
            let p = b.bytes().as_ptr().cast_mut();
            unsafe { std::ptr::write_volatile(p, 1) };
            println!("wrote a frozen buffer");
        }
        "canary" => {
            let b = LockedBuffer::new(32).unwrap();
            let p = b.bytes().as_ptr().cast_mut();
            // One byte below the data: the canary.
            unsafe { std::ptr::write_volatile(p.sub(1), 0x42 ^ std::ptr::read(p.sub(1))) };
            drop(b);
            println!("destroyed a buffer with a broken canary");
        }
        "locked" => scenario_locked(),
        "fork" => scenario_fork(),
        "scan" => scenario_scan(),
        "memlock" => scenario_memlock(),
        "nodump" => {
            cairn_secmem::disable_core_dumps().unwrap();
            let mut lim = libc::rlimit {
                rlim_cur: 1,
                rlim_max: 1,
            };
            unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut lim) };
            let dumpable = unsafe { libc::prctl(libc::PR_GET_DUMPABLE) };
            println!(
                "@@ core {} {} dumpable {dumpable}",
                lim.rlim_cur, lim.rlim_max
            );
        }
        "signal" => {
            let marker = std::env::var("SECMEM_MARKER").unwrap();
            let _b = LockedBuffer::random(32).unwrap();
            cairn_secmem::catch_signal(&[libc::SIGTERM], move |sig| {
                std::fs::write(
                    &marker,
                    format!(
                        "handled {sig} with {} live",
                        cairn_secmem::live_buffer_count()
                    ),
                )
                .unwrap();
            })
            .unwrap();
            println!("@@ ready");
            std::thread::sleep(std::time::Duration::from_secs(30));
            println!("@@ signal never came");
        }
        other => panic!("unknown scenario {other}"),
    }
}

fn signal_of(status: ExitStatus) -> Option<i32> {
    status.signal()
}

/// The text after `@@ <prefix>` in a line (libtest may print before it on the same line).
fn marked<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    let at = line.find("@@ ")?;
    line[at + 3..].strip_prefix(prefix)
}

fn report(out: &str, prefix: &str) -> String {
    out.lines()
        .find_map(|l| marked(l, prefix))
        .unwrap_or_else(|| panic!("no '@@ {prefix}' line in:\n{out}"))
        .trim()
        .to_owned()
}
