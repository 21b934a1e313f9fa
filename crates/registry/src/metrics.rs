//! What the registry measures about itself, for the server's `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
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
    /// Anomalies in each host's newest scan against its baseline, by kind.
    pub scan_anomalies: Family<AnomalyLabels, Gauge>,
}

/// Labels of `cairn_scan_anomalies`: bounded by the enrolled hosts times four kinds.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AnomalyLabels {
    /// The host.
    pub host: String,
    /// `setuid`, `world_writable`, `capability` or `system_binary`.
    pub kind: String,
}

impl RegistryMetrics {
    /// Sets the host's gauges from its newest report: every kind, so a cleared anomaly
    /// drops to 0.
    pub fn record_report(&self, host: &str, report: &cairn_api::ScanReport) {
        for kind in cairn_api::ANOMALY_KINDS {
            let n = report
                .baseline
                .as_ref()
                .and_then(|c| c.anomalies.get(kind))
                .copied()
                .unwrap_or(0);
            self.scan_anomalies
                .get_or_create(&AnomalyLabels {
                    host: host.to_owned(),
                    kind: kind.to_owned(),
                })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }
}

impl Default for RegistryMetrics {
    fn default() -> Self {
        RegistryMetrics {
            // 1 ms to ~16 s.
            sequencing: Histogram::new(exponential_buckets(0.001, 2.0, 15)),
            upload_bytes: Counter::default(),
            leader: Gauge::default(),
            scan_anomalies: Family::default(),
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
