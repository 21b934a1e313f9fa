//! [`MirrorMetrics`]: what a mirror counts, for the server's `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use crate::error::Lie;

/// The label of a verification failure: which check failed.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CheckLabel {
    /// `bytes`, `signature`, `proof`, `checkpoint`, `entry` or `metadata`.
    pub check: &'static str,
}

/// Counters of a mirror.
#[derive(Debug, Default)]
pub struct MirrorMetrics {
    hits: Counter,
    misses: Counter,
    upstream_errors: Counter,
    stale: Counter,
    failures: Family<CheckLabel, Counter>,
}

impl MirrorMetrics {
    /// Counters at zero, every failure label present.
    pub fn new() -> Self {
        let m = MirrorMetrics::default();
        for lie in Lie::ALL {
            drop(m.failures.get_or_create(&CheckLabel {
                check: lie.as_str(),
            }));
        }
        m
    }

    /// Registers every counter under `mirror_…`.
    pub fn register(&self, prom: &mut Registry) {
        prom.register(
            "mirror_cache_hits",
            "Artifact requests answered from what the mirror holds",
            self.hits.clone(),
        );
        prom.register(
            "mirror_cache_misses",
            "Artifact requests that had to fetch from the upstream",
            self.misses.clone(),
        );
        prom.register(
            "mirror_upstream_errors",
            "Upstream requests that got no usable answer (unreachable, 5xx)",
            self.upstream_errors.clone(),
        );
        prom.register(
            "mirror_stale_listings",
            "Listings served from the cache past their time because the upstream was unreachable",
            self.stale.clone(),
        );
        prom.register(
            "mirror_verification_failures",
            "Upstream answers refused, by the check they failed; nothing of them was cached",
            self.failures.clone(),
        );
    }

    pub(crate) fn hit(&self) {
        self.hits.inc();
    }

    pub(crate) fn miss(&self) {
        self.misses.inc();
    }

    pub(crate) fn upstream_error(&self) {
        self.upstream_errors.inc();
    }

    pub(crate) fn stale(&self) {
        self.stale.inc();
    }

    pub(crate) fn failed(&self, lie: Lie) {
        self.failures
            .get_or_create(&CheckLabel {
                check: lie.as_str(),
            })
            .inc();
    }

    /// Verification failures so far, of one kind (for tests and the operator).
    pub fn failures(&self, lie: Lie) -> u64 {
        self.failures
            .get_or_create(&CheckLabel {
                check: lie.as_str(),
            })
            .get()
    }
}
