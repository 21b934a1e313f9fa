//! The bearer token that authorises writes.
//!
//! Kept only as its SHA-256 after start-up, compared in constant time, never logged: the
//! `Debug` form is redacted.

use std::io::Write;
use std::path::Path;

use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

/// A write token.
#[derive(Clone)]
pub struct BearerToken {
    hash: [u8; 32],
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

/// Where the server's token came from, so start-up can say so without revealing it.
#[derive(Debug)]
pub enum TokenSource {
    /// Given by flag or environment.
    Configured,
    /// Read from the data directory, generated on an earlier start.
    Stored,
    /// Generated now; the text is shown to the operator once.
    Generated(String),
}

impl BearerToken {
    /// Wraps a token text. Empty tokens are refused: writes are never anonymous.
    pub fn new(text: &str) -> Option<Self> {
        let text = text.trim();
        (!text.is_empty()).then(|| BearerToken {
            hash: Sha256::digest(text.as_bytes()).into(),
        })
    }

    /// Constant-time check of a presented token (hashing first hides the length too).
    pub fn matches(&self, presented: &str) -> bool {
        let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        self.hash.ct_eq(&presented).into()
    }

    /// Reads `<data>/token`, or creates it (mode 0600) with 32 random bytes in hex.
    pub fn load_or_generate(data_dir: &Path) -> std::io::Result<(Self, TokenSource)> {
        let path = data_dir.join("token");
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let token = BearerToken::new(&text).ok_or_else(|| {
                    std::io::Error::other(format!(
                        "{} is empty: delete it to generate a new token",
                        path.display()
                    ))
                })?;
                Ok((token, TokenSource::Stored))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let text = hex::encode(rand_bytes());
                write_private(&path, &text)?;
                let token =
                    BearerToken::new(&text).ok_or_else(|| std::io::Error::other("empty token"))?;
                Ok((token, TokenSource::Generated(text)))
            }
            Err(e) => Err(e),
        }
    }
}

/// 32 bytes straight from the operating system's CSPRNG.
fn rand_bytes() -> [u8; 32] {
    use rand::RngCore;
    let mut out = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut out);
    out
}

/// Writes `text` to a new file readable only by its owner, durably.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_the_same_token() {
        let t = BearerToken::new("s3cret").unwrap();
        assert!(t.matches("s3cret"));
        assert!(!t.matches("s3cre"));
        assert!(!t.matches(""));
        assert!(BearerToken::new("  ").is_none());
        assert_eq!(format!("{t:?}"), "BearerToken(<redacted>)");
    }

    #[test]
    fn generated_once_then_stored_with_mode_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (t1, s1) = BearerToken::load_or_generate(dir.path()).unwrap();
        let TokenSource::Generated(text) = s1 else {
            panic!("expected a new token")
        };
        assert!(t1.matches(&text));
        let mode = std::fs::metadata(dir.path().join("token"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let (t2, s2) = BearerToken::load_or_generate(dir.path()).unwrap();
        assert!(matches!(s2, TokenSource::Stored));
        assert!(t2.matches(&text));
    }
}
