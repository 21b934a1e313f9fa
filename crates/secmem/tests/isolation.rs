#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Properties only another process can witness: faults, aborts, locking, dump exclusion,
//! fork, memory scans and resource limits. Each scenario runs in a fresh copy of this test
//! binary (`SECMEM_SCENARIO` picks it), so its memory and counters are its own.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};

use cairn_secmem::{Backing, Enclave, Error, LockedBuffer};

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

fn scenario_locked() {
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

fn scenario_fork() {
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

fn scenario_scan() {
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

fn scenario_memlock() {
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

fn signal_of(status: ExitStatus) -> Option<i32> {
    status.signal()
}

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

struct Interactive {
    child: Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Interactive {
    fn start(name: &str, anonymous: bool) -> Self {
        let mut child = scenario(name, anonymous)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Interactive { child, lines }
    }

    fn expect(&mut self, prefix: &str) -> String {
        for line in self.lines.by_ref() {
            let line = line.unwrap();
            if let Some(rest) = marked(&line, prefix) {
                return rest.trim().to_owned();
            }
        }
        panic!("child ended before '@@ {prefix}'");
    }

    fn next(&mut self) {
        writeln!(self.child.stdin.as_mut().unwrap()).unwrap();
    }
}

#[test]
fn memory_holds_the_secret_once_while_open_and_never_after() {
    for anonymous in both() {
        let mut child = Interactive::start("scan", anonymous);
        let pid = child.child.id();
        let inverted = child.expect("open");
        let needle: Vec<u8> = hex_decode(&inverted).iter().map(|b| b ^ 0xFF).collect();
        let count = |what: &str| {
            let scan = cairn_secmem::scan_process(pid, &needle).unwrap();
            assert!(scan.bytes > 1 << 20, "{what}: scanned too little: {scan:?}");
            scan
        };
        // Open in a LockedBuffer: anonymous pages hold it exactly once; secretmem pages are
        // out of the kernel's reach, so even /proc/<pid>/mem finds it nowhere.
        let open = count("open");
        if anonymous {
            assert_eq!(open.matches, 1, "anonymous, open: {open:?}");
        } else {
            assert_eq!(open.matches, 0, "secretmem, open: {open:?}");
            assert!(
                open.unreadable >= 1,
                "the secretmem mapping was readable: {open:?}"
            );
        }
        child.next();
        for step in ["sealed", "reopened", "destroyed", "failed-open"] {
            child.expect(step);
            let scan = count(step);
            let expected = usize::from(anonymous && step == "reopened");
            assert_eq!(
                scan.matches, expected,
                "anonymous={anonymous}, {step}: {scan:?}"
            );
            child.next();
        }
        assert!(child.child.wait().unwrap().success());
    }
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn a_tiny_memlock_limit_is_a_clean_error() {
    // Root ignores RLIMIT_MEMLOCK (CAP_IPC_LOCK): run the copy as `nobody` then.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let exe = dir.path().join("secmem-probe");
    std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
    for (anonymous, pool_probe) in [(false, false), (true, false), (false, true), (true, true)] {
        let mut cmd = scenario("memlock", anonymous);
        if pool_probe {
            cmd.env("SECMEM_POOL_PROBE", "1");
        }
        let limit: u64 = if pool_probe { 8 * page() as u64 } else { 1024 };
        cmd.current_dir(dir.path());
        let mut cmd = Command::new(&exe)
            .args(cmd.get_args())
            .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .take_command();
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                let lim = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                if libc::setrlimit(libc::RLIMIT_MEMLOCK, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::geteuid() == 0
                    && (libc::setgroups(0, std::ptr::null()) != 0
                        || libc::setgid(65534) != 0
                        || libc::setuid(65534) != 0)
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let out = cmd.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "the probe failed (a panic?):\n{text}");
        if pool_probe {
            assert_eq!(
                report(&text, "pool"),
                "released",
                "anonymous={anonymous}\n{text}"
            );
            continue;
        }
        for what in ["small", "enclave", "large"] {
            let line = report(&text, what);
            assert!(
                line.starts_with("lock-error"),
                "anonymous={anonymous} {what}: {line}"
            );
            assert!(line.contains("RLIMIT_MEMLOCK is 1024 bytes"), "{line}");
        }
        assert!(!text.contains("panicked"), "{text}");
    }
}

trait TakeCommand {
    fn take_command(&mut self) -> Command;
}

impl TakeCommand for Command {
    fn take_command(&mut self) -> Command {
        std::mem::replace(self, Command::new("/nonexistent"))
    }
}

#[test]
fn core_dumps_can_be_turned_off() {
    let (status, out) = run("nodump", false);
    assert!(status.success(), "{out}");
    assert_eq!(report(&out, "core"), "0 0 dumpable 0");
}

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
