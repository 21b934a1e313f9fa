//! What can go wrong: talking to the registry ([`Error`]), or a registry caught in a lie, or
//! an artifact the user's policy refuses ([`Refusal`]).

use cairn_sign::policy::Denial;

/// A client error.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The registry URL is not an http(s) URL.
    #[error("registry URL {0:?} must start with http:// or https://")]
    BadUrl(String),
    /// A digest argument that is not 64 hex digits (it would go into a URL).
    #[error("{0:?} is not a SHA-256 digest (64 hex digits)")]
    BadDigest(String),
    /// A write without a token.
    #[error("no token: pass --token, set CAIRN_TOKEN, or put token = \"…\" in the config file")]
    NoToken,
    /// The request did not get an answer (connection refused, reset, timed out…).
    #[error("{method} {url}: {source}")]
    Transport {
        /// HTTP method.
        method: &'static str,
        /// The URL.
        url: String,
        /// What the HTTP stack said.
        #[source]
        source: reqwest::Error,
    },
    /// The registry answered with an error status; `message` is its plain-text body.
    #[error("{method} {url}: {status}: {message}")]
    Status {
        /// HTTP method.
        method: &'static str,
        /// The URL.
        url: String,
        /// The status.
        status: reqwest::StatusCode,
        /// The server's message.
        message: String,
    },
    /// A download whose body ended early: the registry aborted it (it does so with a stored
    /// blob that fails its digest check) or the connection broke.
    #[error(
        "GET {url}: the body ended after {got} of {expected} bytes (the registry aborted it, as it does with a stored blob that fails its digest check, or the connection broke); nothing was kept"
    )]
    Truncated {
        /// The URL.
        url: String,
        /// Bytes received.
        got: u64,
        /// Bytes announced.
        expected: u64,
    },
    /// An answer longer than the caller accepts.
    #[error("GET {url}: the answer is longer than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The most bytes accepted.
        limit: usize,
    },
    /// A 2xx answer that is not the API's shape.
    #[error("{method} {url}: the answer is not what the API defines: {reason}")]
    Decode {
        /// HTTP method.
        method: &'static str,
        /// The URL.
        url: String,
        /// What did not parse.
        reason: String,
    },
    /// Local file I/O.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// The registry lied, or the user's policy refuses what it serves.
    #[error(transparent)]
    Refused(#[from] Refusal),
}

impl Error {
    /// The HTTP status of an error answer, if it was one.
    pub fn status(&self) -> Option<reqwest::StatusCode> {
        match self {
            Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let what = what.into();
        move |source| Error::Io { what, source }
    }
}

/// Why a verified operation refused what the registry served. Each variant names the lie
/// (or the policy rule) so a user can tell an attack from a misconfiguration.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Nothing matches the request.
    #[error("no plugin {name} matches ({query})")]
    NoMatch {
        /// Plugin name.
        name: String,
        /// The filters.
        query: String,
    },
    /// The bytes do not hash to the digest they were served under.
    #[error("digest mismatch: the registry served bytes whose SHA-256 is {got}, not {expected}")]
    Digest {
        /// Digest asked for.
        expected: String,
        /// Digest of what arrived.
        got: String,
    },
    /// The bytes are no plugin binary.
    #[error("the registry served {digest} as a plugin, but it is none: {reason}")]
    NotAPlugin {
        /// Digest.
        digest: String,
        /// What the analyzer said.
        reason: String,
    },
    /// The registry's listing describes the binary as something it is not.
    #[error("the registry says {claimed}; the binary is {actual}")]
    Relabelled {
        /// What the registry claims.
        claimed: String,
        /// What the bytes hold.
        actual: String,
    },
    /// The binary is not what the user asked for.
    #[error("you asked for {asked}; the binary the registry served is {actual}")]
    NotAsked {
        /// The request.
        asked: String,
        /// What the bytes hold.
        actual: String,
    },
    /// The registry's metadata answer disagrees with the bytes and the log.
    #[error(
        "the registry's metadata says {field} is {claimed}; the bytes and the log say {actual}"
    )]
    Metadata {
        /// The field.
        field: String,
        /// The registry's value.
        claimed: String,
        /// The verified value.
        actual: String,
    },
    /// The checkpoint, the inclusion proof or the entry itself does not verify.
    #[error("log check failed: {0}")]
    Log(String),
    /// A package, its signature files or the registry's answers about it disagree with its
    /// proven log entry.
    #[error("package refused: {0}")]
    Package(String),
    /// The proven log entry does not record what was served.
    #[error("log check failed: log entry {index} {what}")]
    Entry {
        /// The entry's index.
        index: u64,
        /// What it records, against what was served.
        what: String,
    },
    /// The registry served a checkpoint older than one this client already saw.
    #[error(
        "log check failed: stale checkpoint: the registry's checkpoint has {served} entries, but this client already saw {seen} (a registry hiding newer entries)"
    )]
    Stale {
        /// Size this client saw before.
        seen: u64,
        /// Size served now.
        served: u64,
    },
    /// The served checkpoint is not an extension of the one this client saw.
    #[error("log check failed: the log forked: {0}")]
    Fork(String),
    /// The user's trust policy refuses a plugin the binary holds.
    #[error("refused by the trust policy: {plugin}: {denial}")]
    Policy {
        /// The descriptor refused (`name version`).
        plugin: String,
        /// The policy's reason.
        denial: Denial,
    },
    /// A scan baseline's signature does not verify under the keys the user gave.
    #[error("the baseline's signature does not verify: {0}")]
    Signature(String),
    /// What was to be proven published has no entry in the registry's log.
    #[error("not published: {0}")]
    NotPublished(String),
    /// The user's policy pins no log, so nothing could be proven.
    #[error(
        "the trust policy pins no transparency log ([log] key): add one with `cairn trust log POLICY --key VKEY` (the key `cairn log key` prints)"
    )]
    NoLogPinned,
}
