//! A pull-through mirror of another Cairn (or memflow-compatible Cairn) registry.
//!
//! A naive pull-through cache is a new place to attack: it could keep bytes nobody can
//! prove, or be shown a log nobody else sees. A [`Mirror`] keeps an artifact only after
//! checking it as a client would (digest, descriptors, signature, trust policy, log entry,
//! inclusion proof), and takes a new upstream checkpoint only when the upstream's leaves,
//! with every leaf it verified before unchanged, hash to the signed root
//! ([`UpstreamLog`]). So it can answer every proof and hash tile for the **upstream** log
//! key with the upstream stopped, and a client checks what it serves exactly as it checks
//! the upstream.
//!
//! - [`Mirror::artifact`]: held, or fetched and verified (`fetch.rs` has the order).
//! - [`Mirror::listing`]: the upstream's listings, cached for a short time, served stale
//!   while the upstream is unreachable.
//! - [`Mirror::proof`], [`Mirror::checkpoint`], [`Mirror::tile`], [`Mirror::entry`]: the
//!   upstream log as verified.
//! - Deletions: an artifact whose deletion the upstream logs is forgotten once the mirror
//!   takes a checkpoint covering it (`deletions.rs`).
//! - [`Mirror::sync`]: the whole upstream log verified and kept, and every live artifact
//!   (matching a name filter) fetched.
//! - [`Error`] says whose fault a failure is: unreachable upstream (503), a lie (502, and
//!   [`MirrorMetrics`] counts it by check), nothing there (404).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod config;
mod deletions;
mod error;
mod fetch;
mod listing;
mod metrics;
mod mirror;
mod store;
mod upstream;
mod upstream_log;

pub use config::{DEFAULT_LISTING_TTL, MAX_ANSWER_BYTES, MirrorConfig};
pub use error::{Error, Lie};
pub use listing::{Listing, MAX_LISTING_BYTES, MAX_LISTINGS};
pub use metrics::{CheckLabel, MirrorMetrics};
pub use mirror::{Mirror, SyncReport};
pub use store::Record;
pub use upstream::Upstream;
pub use upstream_log::UpstreamLog;
