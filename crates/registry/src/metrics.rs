//! What the registry measures about itself, for the server's `/metrics`.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

/// Registry-side metrics; cheap to clone (shared counters).
#[derive(Clone, Debug)]
pub struct RegistryMetrics {
    /// Seconds from submitting a log entry to the checkpoint that covers it.
    pub sequencing: Histogram,
    /// Upload bytes received (accepted or not).
    pub upload_bytes: Counter,
    /// 1 while this instance integrates the shared log, else 0.
    pub leader: Gauge,
}

impl Default for RegistryMetrics {
    fn default() -> Self {
        RegistryMetrics {
            // 1 ms to ~16 s.
            sequencing: Histogram::new(exponential_buckets(0.001, 2.0, 15)),
            upload_bytes: Counter::default(),
            leader: Gauge::default(),
        }
    }
}

/// What `/ready` reports: each dependency of serving.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Readiness {
    /// The index database answers.
    pub database: bool,
    /// The blob store takes writes.
    pub store: bool,
    /// The log writer takes submissions.
    pub log: bool,
    /// The index reflects every logged change; false while writes are paused because an
    /// index write failed after its log append (they resume once a replay catches up).
    pub index_current: bool,
    /// Whether this instance integrates the log: always with the embedded log, the holder
    /// of the leader lock with a shared one. Informational: a follower is ready too.
    pub log_leader: bool,
}

impl Readiness {
    /// All four.
    pub fn ready(&self) -> bool {
        self.database && self.store && self.log && self.index_current
    }
}
