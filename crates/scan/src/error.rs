//! Scanner errors. Per-entry problems are not errors: they are recorded in the entry.

/// Why a scan, or reading a manifest, failed as a whole.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A root could not be read at all.
    #[error("{path}: {source}")]
    Root {
        /// The root as given.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An `--exclude` pattern is not a valid glob.
    #[error("invalid exclude pattern: {0}")]
    Pattern(#[from] globset::Error),
    /// Reading or writing a manifest failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The manifest is not a well-formed scan (bad JSON, missing header or trailer).
    #[error("malformed scan file, line {line}: {reason}")]
    Malformed {
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        reason: String,
    },
    /// The trailer does not match the content: the file was modified or truncated.
    #[error("scan file integrity check failed: {0}")]
    Integrity(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoke_every_variant_formats() {
        let all = [
            Error::Root {
                path: "/x".into(),
                source: std::io::Error::other("gone"),
            },
            Error::Io(std::io::Error::other("x")),
            Error::Malformed {
                line: 3,
                reason: "r".into(),
            },
            Error::Integrity("i".into()),
        ];
        for e in all {
            assert!(!e.to_string().is_empty());
        }
    }
}
