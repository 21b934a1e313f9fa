//! Why a key or a signature was refused.

/// What is wrong with a signature.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureDefect {
    /// Not hexadecimal text (or empty, or absurdly long).
    NotHex,
    /// Hex, but not a DER-encoded ECDSA signature.
    NotDer,
    /// Well-formed, but no trusted key verifies it over these bytes.
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

/// A key or signature error.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The signature was refused.
    #[error("Signature error: {0}")]
    Signature(SignatureDefect),
    /// A key could not be read.
    #[error("{origin}: {reason}")]
    Key {
        /// Which key (`public key /path/to.pem`, …).
        origin: String,
        /// What was wrong.
        reason: String,
    },
}
