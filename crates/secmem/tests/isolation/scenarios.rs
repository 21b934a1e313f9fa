//! The longer scenarios, run in a child copy of the test binary: what they print after
//! `@@` is what the tests check.

use std::io::Write;

use cairn_secmem::{Enclave, Error, LockedBuffer};

use crate::page;

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The smaps block and maps name of the mapping holding `addr`.
fn mapping_of(addr: usize) -> (String, String) {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
    let mut current: Option<(String, String)> = None;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((a, b)) = first.split_once('-') {
            if let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) {
                if let Some(found) = current.take() {
                    return found;
                }
                if (a..b).contains(&addr) {
                    let name = line.split_whitespace().nth(5).unwrap_or("").to_owned();
                    current = Some((String::new(), name));
                }
                continue;
            }
        }
        if let Some((block, _)) = current.as_mut() {
            block.push_str(line);
            block.push('\n');
        }
    }
    current.expect("mapping not found")
}

pub(crate) fn scenario_locked() {
    let before = status_kib("VmLck:");
    let len = 3 * page() + 100;
    let b = LockedBuffer::new(len).unwrap();
    let after = status_kib("VmLck:");
    let (smaps, name) = mapping_of(b.bytes().as_ptr() as usize);
    let flags = smaps
        .lines()
        .find_map(|l| l.strip_prefix("VmFlags:"))
        .unwrap()
        .trim()
        .to_owned();
    println!(
        "@@ backing {:?} vmlck_delta_kib {} inner_kib {} name {name:?} flags {flags}",
        b.backing().unwrap(),
        after - before,
        (4 * page()) / 1024,
    );
}

pub(crate) fn scenario_fork() {
    let mut b = LockedBuffer::new(64).unwrap();
    b.bytes_mut().unwrap().fill(0x5A);
    let p = b.bytes().as_ptr();
    // SAFETY: the child only reads memory and calls _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let seen = unsafe { std::slice::from_raw_parts(p, 64) };
        let code = if seen.iter().all(|&x| x == 0) {
            0
        } else if seen.iter().all(|&x| x == 0x5A) {
            1
        } else {
            2
        };
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(
        b.bytes().iter().all(|&x| x == 0x5A),
        "the parent lost its secret"
    );
    println!(
        "@@ child exited {} signalled {}",
        libc::WEXITSTATUS(status),
        libc::WIFSIGNALED(status)
    );
}

/// Prints `msg`, then waits for the parent to finish scanning.
fn step(msg: &str) {
    println!("@@ {msg}");
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
}

pub(crate) fn scenario_scan() {
    let buf = LockedBuffer::random(32).unwrap();
    // The needle goes out inverted: the plain secret never enters ordinary memory.
    let inverted: String = buf
        .bytes()
        .iter()
        .map(|b| format!("{:02x}", b ^ 0xFF))
        .collect();
    step(&format!("open {inverted}"));
    let enclave = buf.seal().unwrap();
    step("sealed");
    let opened = enclave.open().unwrap();
    step("reopened");
    opened.destroy();
    step("destroyed");
    let mut tampered = enclave.clone();
    let n = tampered.sealed_bytes_mut().len();
    tampered.sealed_bytes_mut()[n / 2] ^= 1;
    assert!(matches!(tampered.open(), Err(Error::Open)));
    step("failed-open");
}

pub(crate) fn scenario_memlock() {
    if std::env::var_os("SECMEM_POOL_PROBE").is_some() {
        // 8 pages of limit: fill the pool with 6 idle locked pages, then ask for 4 more.
        drop(LockedBuffer::new(2 * page()).unwrap());
        drop(LockedBuffer::new(3 * page()).unwrap());
        match LockedBuffer::new(3 * page()) {
            Ok(_) => println!("@@ pool released"),
            Err(e) => println!("@@ pool error {e}"),
        }
        return;
    }
    let small = LockedBuffer::random(32);
    let sealed = Enclave::from_bytes(&mut [7u8; 32]);
    let large = LockedBuffer::new(1 << 20);
    for (what, r) in [
        ("small", small.map(drop)),
        ("enclave", sealed.map(drop)),
        ("large", large.map(drop)),
    ] {
        match r {
            Ok(()) => println!("@@ {what} ok"),
            Err(e @ Error::Lock { .. }) => println!("@@ {what} lock-error {e}"),
            Err(e) => println!("@@ {what} other-error {e}"),
        }
    }
}
