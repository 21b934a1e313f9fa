//! [`MirrorConfig`]: every setting of a mirror, each default once.

use std::path::PathBuf;
use std::time::Duration;

use cairn_sign::policy::Policy;
use cairn_tlog::NoteVerifier;

/// How long a listing from the upstream is served before it is fetched again.
pub const DEFAULT_LISTING_TTL: Duration = Duration::from_secs(60);

/// Largest listing or metadata answer taken from the upstream.
pub const MAX_ANSWER_BYTES: usize = 16 << 20;

/// A mirror's settings, resolved.
#[derive(Clone, Debug)]
pub struct MirrorConfig {
    /// The upstream registry's base URL.
    pub upstream: String,
    /// The upstream log's key: every checkpoint the mirror keeps is signed by it.
    pub log_key: NoteVerifier,
    /// The upstream trust policy: each artifact's signature must pass it before it is kept.
    pub policy: Option<Policy>,
    /// Where the mirror keeps what it verified.
    pub dir: PathBuf,
    /// How long listings are served before they are fetched again (also how often the
    /// checkpoint is refreshed when asked for).
    pub listing_ttl: Duration,
    /// Keep every entry bundle of the upstream log, not only the ones a request needed.
    pub mirror_log: bool,
}

impl MirrorConfig {
    /// A mirror of `upstream` under `log_key`, kept in `dir`, with the defaults.
    pub fn new(upstream: &str, log_key: NoteVerifier, dir: impl Into<PathBuf>) -> Self {
        MirrorConfig {
            upstream: upstream.trim_end_matches('/').to_owned(),
            log_key,
            policy: None,
            dir: dir.into(),
            listing_ttl: DEFAULT_LISTING_TTL,
            mirror_log: false,
        }
    }
}
