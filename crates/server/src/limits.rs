//! How long and how slowly a client may hold the server: every limit of a connection, with
//! the defaults `cairn serve` uses.

use std::time::Duration;

/// Connection limits. All are on by default: an unauthenticated client must not be able to
/// hold a connection (or a file descriptor) open for free.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Time to receive a request's headers, counted from when the server starts waiting for
    /// them: on a new connection, and on a keep-alive connection from the end of the previous
    /// exchange (so it is also the keep-alive idle timeout).
    pub header_timeout: Duration,
    /// A connection with no request in flight and no byte moving for this long is closed
    /// (covers clients that never send a byte, and idle HTTP/2 connections).
    pub idle_timeout: Duration,
    /// A request body must arrive at this many bytes per second on average, after
    /// [`Limits::body_grace`]; a rate, not a total, so large uploads on slow links still work.
    pub min_body_rate: u64,
    /// Time a request body may take before [`Limits::min_body_rate`] applies.
    pub body_grace: Duration,
    /// Connections served at once; one more is answered 503 and closed.
    pub max_connections: usize,
}

/// Default of [`Limits::header_timeout`].
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default of [`Limits::idle_timeout`].
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default of [`Limits::min_body_rate`]: 1 KiB/s, far below any real link.
pub const DEFAULT_MIN_BODY_RATE: u64 = 1024;
/// Default of [`Limits::body_grace`].
pub const DEFAULT_BODY_GRACE: Duration = Duration::from_secs(10);
/// Default of [`Limits::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            min_body_rate: DEFAULT_MIN_BODY_RATE,
            body_grace: DEFAULT_BODY_GRACE,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}
