//! What can go wrong with secret memory.

use std::io;

/// A secret-memory failure. None of them carries secret bytes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A secret of zero bytes was asked for.
    #[error("a secret buffer cannot be empty")]
    Empty,
    /// The kernel refused the mapping.
    #[error("could not map {len} bytes of guarded memory: {source}")]
    Map {
        /// Bytes asked for.
        len: usize,
        /// The kernel's answer.
        source: io::Error,
    },
    /// The pages could not be locked in RAM (RLIMIT_MEMLOCK, usually).
    #[error(
        "could not lock {len} bytes of secret memory in RAM: {source} (RLIMIT_MEMLOCK is {limit}; \
         raise it with `ulimit -l`, LimitMEMLOCK= in a systemd unit, or grant CAP_IPC_LOCK)"
    )]
    Lock {
        /// Bytes asked for.
        len: usize,
        /// The soft limit when the call failed, as text (`unlimited` or bytes).
        limit: String,
        /// The kernel's answer.
        source: io::Error,
    },
    /// `mprotect` or `madvise` failed.
    #[error("could not set the protection of secret memory: {0}")]
    Protect(io::Error),
    /// The buffer was destroyed (by `destroy`, or by a `purge`).
    #[error("the secret buffer was destroyed")]
    Destroyed,
    /// Writing to a frozen (read-only) buffer.
    #[error("the secret buffer is frozen (read-only); melt it first")]
    Frozen,
    /// An offset or length outside the buffer.
    #[error("{offset}+{len} lies outside a secret buffer of {size} bytes")]
    Range {
        /// Start of the access.
        offset: usize,
        /// Length of the access.
        len: usize,
        /// The buffer's size.
        size: usize,
    },
    /// An enclave failed authentication.
    #[error("the enclave does not open: it was altered, or sealed before a purge")]
    Open,
    /// A secret read from a reader exceeded its limit.
    #[error("the secret is longer than the {limit}-byte limit")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// PEM armour that does not decode.
    #[error("not valid PEM: {0}")]
    Pem(String),
    /// Reading a secret failed.
    #[error("reading the secret: {0}")]
    Read(io::Error),
    /// The operating system's random generator failed.
    #[error("no randomness from the operating system: {0}")]
    Random(String),
    /// A signal handler could not be installed.
    #[error("could not install the signal handler: {0}")]
    Signal(io::Error),
}
