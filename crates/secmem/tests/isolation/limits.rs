//! Resource limits: a tiny `RLIMIT_MEMLOCK` is a clean error, and core dumps can be turned
//! off.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use crate::{page, report, run, scenario};

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
