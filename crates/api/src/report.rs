//! The registry's analysis of an arriving scan: what changed against the host's baseline
//! and against its previous scan, security-relevant findings first.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Kinds of anomaly, in the order a report lists them (and the `kind` label of the
/// `cairn_scan_anomalies` metric).
pub const ANOMALY_KINDS: [&str; 4] = ["setuid", "world_writable", "capability", "system_binary"];

/// What a scan's arrival found, stored with the scan and logged in its `scan` entry, so the
/// answer a booting host acts on is the one the log holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanReport {
    /// Compared with the host's baseline, when one was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Comparison>,
    /// Compared with the host's previous scan, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Comparison>,
}

impl ScanReport {
    /// Anomalies against the baseline (0 with no baseline): what `cairn.enforce=1` refuses.
    pub fn anomalies(&self) -> u64 {
        self.baseline.as_ref().map_or(0, Comparison::anomalies)
    }
}

/// One comparison: the counts are complete, the findings list may be cut to fit a log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparison {
    /// SHA-256 of the scan compared with.
    pub against: String,
    /// Anomalies by kind (`setuid`, `world_writable`, `capability`, `system_binary`); a
    /// kind with none is absent.
    pub anomalies: BTreeMap<String, u64>,
    /// Paths added.
    pub added: u64,
    /// Paths removed.
    pub removed: u64,
    /// Paths changed in any other way.
    pub changed: u64,
    /// The changes, anomalies first (setuid first), then by path.
    pub findings: Vec<Finding>,
    /// True when `findings` was cut short (the counts still count everything).
    #[serde(default)]
    pub truncated: bool,
}

impl Comparison {
    /// Total anomalies of every kind.
    pub fn anomalies(&self) -> u64 {
        self.anomalies.values().sum()
    }
}

/// One changed path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The path, as the scanned system sees it.
    pub path: String,
    /// Anomaly kinds, in [`ANOMALY_KINDS`] order; empty for an ordinary change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub anomalies: Vec<String>,
    /// What changed: `added`, `removed`, `content`, `mode`, `owner`, ….
    pub changes: Vec<String>,
    /// A short description (`mode 0755 -> 4755`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

/// `GET /scans/{digest}/report`: a stored scan and the registry's analysis of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportAnswer {
    /// The scan.
    pub scan: crate::ScanSummary,
    /// Its report; `None` for a scan stored before the registry analysed scans.
    pub report: Option<ScanReport>,
}
