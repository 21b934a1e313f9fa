//! Scans of a child's whole memory: the secret is there once while open, and never after.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Stdio};

use crate::{both, marked, scenario};

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
