//! The real GnuPG, in a fresh home directory per test: keys, detached signatures, exports.
//! A failed gpg call fails the test with gpg's stderr: nothing is skipped silently.

// Each test crate uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// A scratch directory, removed (with its gpg-agent stopped) when dropped.
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    pub fn new(what: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "cairn-sign-{what}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        Scratch { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes a file and returns its path.
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // The agent gpg started for this home; it is ours to stop.
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(&self.dir)
            .args(["--kill", "gpg-agent"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A GnuPG home.
pub struct Gpg {
    pub home: Scratch,
}

impl Gpg {
    pub fn new() -> Self {
        Gpg {
            home: Scratch::new("gnupg"),
        }
    }

    /// Runs gpg; its stdout, or a panic showing its stderr.
    pub fn run(&self, args: &[&str]) -> Vec<u8> {
        let out = Command::new("gpg")
            .arg("--homedir")
            .arg(&self.home.dir)
            .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(args)
            .output()
            .expect("running /usr/bin/gpg");
        assert!(
            out.status.success(),
            "gpg {args:?} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Makes a signing key (`rsa3072`, `ed25519`, `nistp256`) and returns its primary
    /// fingerprint, lowercase, as gpg reports it.
    pub fn key(&self, uid: &str, algo: &str) -> String {
        self.run(&["--quick-gen-key", uid, algo, "sign", "never"]);
        self.fingerprints(uid)[0].clone()
    }

    /// Adds a signing subkey (which gpg then prefers for signatures); its fingerprint.
    pub fn add_signing_subkey(&self, primary: &str, algo: &str) -> String {
        self.run(&["--quick-add-key", primary, algo, "sign", "never"]);
        let all = self.fingerprints(primary);
        all.last().unwrap().clone()
    }

    /// Every fingerprint gpg lists for `who`: the primary first, then the subkeys.
    pub fn fingerprints(&self, who: &str) -> Vec<String> {
        let out = self.run(&["--with-colons", "--fingerprint", who]);
        String::from_utf8(out)
            .unwrap()
            .lines()
            .filter_map(|l| l.strip_prefix("fpr:"))
            .map(|l| l.trim_matches(':').to_ascii_lowercase())
            .collect()
    }

    /// A detached signature of `file` by `who`, binary or armored.
    pub fn sign(&self, who: &str, file: &Path, armor: bool) -> Vec<u8> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let out = self.home.path(&format!(
            "sig-{}.{}",
            NEXT.fetch_add(1, Ordering::Relaxed),
            if armor { "asc" } else { "sig" }
        ));
        let (out_s, file_s) = (out.to_str().unwrap(), file.to_str().unwrap());
        let mut args = vec!["--yes", "--local-user", who, "--output", out_s];
        if armor {
            args.push("--armor");
        }
        args.extend(["--detach-sign", file_s]);
        self.run(&args);
        std::fs::read(out).unwrap()
    }

    /// `gpg --export [--armor] who…`.
    pub fn export(&self, who: &[&str], armor: bool) -> Vec<u8> {
        let mut args = vec!["--export"];
        if armor {
            args.push("--armor");
        }
        args.extend(who);
        let out = self.run(&args);
        assert!(!out.is_empty(), "gpg exported nothing for {who:?}");
        out
    }
}

/// A few hundred KiB of bytes that are neither constant nor periodic.
pub fn package_bytes() -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut bytes = b"PK\x03\x04 an Elastic integration, more or less\n".to_vec();
    while bytes.len() < 300 * 1024 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes
}

/// The same bytes with one of them changed, far from the start.
pub fn changed(bytes: &[u8]) -> Vec<u8> {
    let mut other = bytes.to_vec();
    let at = other.len() * 2 / 3;
    other[at] ^= 0x01;
    other
}
