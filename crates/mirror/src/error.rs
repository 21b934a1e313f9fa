//! What can go wrong in a mirror, each variant saying whose fault it is: the upstream's
//! absence (503), its lie (502), a thing it does not have (404), or the mirror's own disk.

/// Which check an upstream's answer failed: the label of the verification-failure metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Lie {
    /// The bytes do not hash to the digest, or are not the plugin the entry records.
    Bytes,
    /// The signature served is not the one logged, or the trust policy refuses it.
    Signature,
    /// An inclusion proof, or the entry it proves, does not verify.
    Proof,
    /// A checkpoint whose signature fails, or that does not extend one seen before.
    Checkpoint,
    /// The log entry is not a publication of what was asked for.
    Entry,
    /// Metadata that disagrees with the bytes and the log.
    Metadata,
}

impl Lie {
    /// Every kind, for metrics that start at zero.
    pub const ALL: [Lie; 6] = [
        Lie::Bytes,
        Lie::Signature,
        Lie::Proof,
        Lie::Checkpoint,
        Lie::Entry,
        Lie::Metadata,
    ];

    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Lie::Bytes => "bytes",
            Lie::Signature => "signature",
            Lie::Proof => "proof",
            Lie::Checkpoint => "checkpoint",
            Lie::Entry => "entry",
            Lie::Metadata => "metadata",
        }
    }
}

/// A mirror error.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The upstream did not answer, or answered with a server error.
    #[error("the upstream registry {upstream} is unreachable: {reason}")]
    Unreachable {
        /// The upstream's URL.
        upstream: String,
        /// What happened.
        reason: String,
    },
    /// The upstream does not have it either.
    #[error("the upstream registry {upstream} has no {what}: {message}")]
    NotFound {
        /// The upstream's URL.
        upstream: String,
        /// What was asked for.
        what: String,
        /// The upstream's message.
        message: String,
    },
    /// The upstream refused the request for another reason (a 4xx other than 404).
    #[error("the upstream registry {upstream} refused the request: {status}: {message}")]
    Upstream {
        /// The upstream's URL.
        upstream: String,
        /// Its status.
        status: u16,
        /// Its message.
        message: String,
    },
    /// The upstream served something that does not verify; nothing of it was kept.
    #[error(
        "the upstream registry {upstream} served {what} that does not verify ({reason}); nothing was cached"
    )]
    Refused {
        /// The upstream's URL.
        upstream: String,
        /// Which check failed.
        lie: Lie,
        /// What was being fetched.
        what: String,
        /// Why it was refused.
        reason: String,
    },
    /// Reading or writing the mirror's own files.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// What the mirror stored contradicts itself (its tiles, its checkpoint, its key).
    #[error("the mirror's stored copy of the upstream log is damaged or from another log: {0}")]
    Damaged(String),
    /// Another process holds the mirror's directory.
    #[error("{0} is in use by another cairn process (a serving mirror or a sync)")]
    Busy(String),
    /// A request the mirror cannot answer as asked.
    #[error("{0}")]
    BadRequest(String),
}

impl Error {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let what = what.into();
        move |source| Error::Io { what, source }
    }
}
