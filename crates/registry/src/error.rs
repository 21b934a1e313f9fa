//! Why a registry operation failed.

/// What is wrong with an upload's signature.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureDefect {
    /// Not hexadecimal text (or empty, odd-length, or absurdly long).
    NotHex,
    /// Hex, but not a DER-encoded ECDSA signature.
    NotDer,
    /// Well-formed, but no trusted key verifies it over this file.
    NoTrustedKey,
}

impl std::fmt::Display for SignatureDefect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignatureDefect::NotHex => {
                "signature is not hex-encoded DER (as openssl dgst -hex writes it)"
            }
            SignatureDefect::NotDer => "signature is not a DER-encoded ECDSA signature",
            SignatureDefect::NoTrustedKey => {
                "file signature is invalid: no trusted key verifies it"
            }
        })
    }
}

/// A registry error. Variants say whose fault it is: the client's input, or the environment.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No artifact with that digest.
    #[error("plugin not found")]
    NotFound,
    /// An upload exceeded the configured size limit.
    #[error("upload exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The upload's signature was refused.
    #[error("Signature error: {0}")]
    Signature(SignatureDefect),
    /// The uploaded binary could not be analysed.
    #[error("invalid plugin binary: {0}")]
    Plugin(#[from] cairn_plugin::Error),
    /// The uploaded binary holds no plugin descriptor, so there is nothing to index.
    #[error("invalid plugin binary: no MEMFLOW_CONNECTOR_* or MEMFLOW_OS_* descriptor found")]
    NoDescriptors,
    /// A configured public key could not be read.
    #[error("public key {path}: {reason}")]
    Key {
        /// Where the key came from.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// Local file I/O failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The blob store failed.
    #[error("blob store error: {0}")]
    Store(#[from] object_store::Error),
    /// The index database failed.
    #[error("index database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying the index schema failed.
    #[error("index migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The index holds a value this version cannot read.
    #[error("index database holds an unreadable value: {0}")]
    Corrupt(String),
    /// A background task died (a bug: please report it).
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// True when the client sent something unacceptable (a 4xx), false for server-side failures.
    pub fn is_client_error(&self) -> bool {
        matches!(
            self,
            Error::NotFound
                | Error::TooLarge { .. }
                | Error::Signature(_)
                | Error::Plugin(_)
                | Error::NoDescriptors
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoke_every_variant_formats() {
        let all = [
            Error::NotFound,
            Error::TooLarge { limit: 1 },
            Error::Signature(SignatureDefect::NotHex),
            Error::Signature(SignatureDefect::NotDer),
            Error::Signature(SignatureDefect::NoTrustedKey),
            Error::Plugin(cairn_plugin::Error::UnknownFormat),
            Error::NoDescriptors,
            Error::Key {
                path: "k".into(),
                reason: "r".into(),
            },
            Error::Io(std::io::Error::other("x")),
            Error::Corrupt("c".into()),
            Error::Internal("i".into()),
        ];
        for e in all {
            assert!(!e.to_string().is_empty());
        }
    }
}
