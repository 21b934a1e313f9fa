//! SHA-256 digests as the API spells them: 64 lowercase hex characters.

use std::fmt;

/// A validated SHA-256 digest. Constructing one is the only way to name a blob, so a path
/// built from it cannot escape the blob directory.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest([u8; 32]);

impl Digest {
    /// Parses exactly 64 lowercase hex characters.
    pub fn parse(s: &str) -> Option<Self> {
        if s.len() != 64 || !is_lower_hex(s) {
            return None;
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(Digest(out))
    }

    /// Wraps raw digest bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Digest(bytes)
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_hex())
    }
}

/// A prefix of a digest (0 to 64 lowercase hex characters), for `digest_short` and `version`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestPrefix(String);

impl DigestPrefix {
    /// Accepts up to 64 lowercase hex characters.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() <= 64 && is_lower_hex(s)).then(|| DigestPrefix(s.to_owned()))
    }

    /// The prefix text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_64_lowercase_hex() {
        let good = "f831a5ad8c81293fb9b09ff14c19634df47cbbe9327c5e75d42b4c7eee4452d7";
        assert_eq!(Digest::parse(good).unwrap().to_hex(), good);
        assert!(Digest::parse(&good.to_uppercase()).is_none());
        assert!(Digest::parse(&good[1..]).is_none());
        assert!(Digest::parse("../../etc/passwd").is_none());
        assert!(Digest::parse(&format!("{}%2F", &good[..61])).is_none());
        assert!(Digest::parse(&"é".repeat(32)).is_none());
    }

    #[test]
    fn prefixes() {
        assert!(DigestPrefix::parse("").is_some());
        assert!(DigestPrefix::parse("abc123").is_some());
        assert!(DigestPrefix::parse("1.2.3").is_none());
        assert!(DigestPrefix::parse(&"a".repeat(65)).is_none());
    }
}
