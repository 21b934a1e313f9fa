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
    /// None of the detached signature kinds Cairn knows.
    Unrecognized,
    /// An OpenPGP signature or key, in a build without OpenPGP support (the boot agent's).
    NoOpenPgp,
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
            SignatureDefect::Unrecognized => {
                "not an OpenPGP, hex DER ECDSA or Ed25519 (64 raw bytes or 128 hex digits) signature"
            }
            SignatureDefect::NoOpenPgp => {
                "an OpenPGP signature, but this build of Cairn has no OpenPGP support"
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
    /// A detached signature of a known kind that does not parse as one.
    #[error("malformed {kind} signature: {reason}")]
    MalformedSignature {
        /// The kind it claims to be.
        kind: crate::detached::Kind,
        /// What was wrong.
        reason: String,
    },
    /// A signed file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A signed file's bytes are not the ones whose SHA-256 the caller gave: it changed
    /// between being hashed and being checked, so no decision about it may stand.
    #[error("{path} changed while its signature was checked: its SHA-256 is not the one given")]
    Changed {
        /// The file.
        path: String,
    },
}
