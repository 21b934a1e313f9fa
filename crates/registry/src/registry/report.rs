//! The analysis of an arriving scan: [`compare`] turns a scan diff into the report's
//! [`Comparison`] (complete counts, findings anomalies first), and [`cut`] shortens the
//! findings until the scan's log entry fits.

use std::collections::BTreeMap;

use cairn_api::{ANOMALY_KINDS, Comparison, Finding, ScanReport};
use cairn_scan::{ChangeKind, Diff, Flag, Manifest};

/// Findings a report lists at most, before any cut for size.
pub(crate) const MAX_FINDINGS: usize = 256;

fn kind_of(flag: Flag) -> &'static str {
    match flag {
        Flag::Setuid => ANOMALY_KINDS[0],
        Flag::WorldWritable => ANOMALY_KINDS[1],
        Flag::Capability => ANOMALY_KINDS[2],
        Flag::SystemBinary => ANOMALY_KINDS[3],
    }
}

fn change_name(kind: ChangeKind) -> String {
    let text = serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned));
    text.unwrap_or_else(|| format!("{kind:?}").to_lowercase())
}

/// Compares `old` (the scan `against`) with `new`.
pub(crate) fn compare(against: &str, old: &Manifest, new: &Manifest) -> Comparison {
    summarize(against, &cairn_scan::diff(old, new))
}

fn summarize(against: &str, diff: &Diff) -> Comparison {
    let mut anomalies = BTreeMap::new();
    let (mut added, mut removed, mut changed) = (0, 0, 0);
    let mut findings = Vec::with_capacity(diff.changes.len().min(MAX_FINDINGS));
    for c in &diff.changes {
        for flag in &c.flags {
            *anomalies.entry(kind_of(*flag).to_owned()).or_insert(0u64) += 1;
        }
        match c.kinds.first() {
            Some(ChangeKind::Added) => added += 1,
            Some(ChangeKind::Removed) => removed += 1,
            _ => changed += 1,
        }
        findings.push(Finding {
            path: c.path.to_string_lossy().into_owned(),
            anomalies: c.flags.iter().map(|f| kind_of(*f).to_owned()).collect(),
            changes: c.kinds.iter().map(|k| change_name(*k)).collect(),
            details: c.details.clone(),
        });
    }
    // Anomalies first, the gravest kind first (setuid before world-writable, …), then by path.
    let rank = |f: &Finding| {
        f.anomalies
            .iter()
            .filter_map(|a| ANOMALY_KINDS.iter().position(|k| k == a))
            .min()
            .unwrap_or(ANOMALY_KINDS.len())
    };
    findings.sort_by(|a, b| (rank(a), &a.path).cmp(&(rank(b), &b.path)));
    let truncated = findings.len() > MAX_FINDINGS;
    findings.truncate(MAX_FINDINGS);
    Comparison {
        against: against.to_owned(),
        anomalies,
        added,
        removed,
        changed,
        findings,
        truncated,
    }
}

/// Halves every comparison's findings (the counts stay whole); false once nothing is left
/// to cut.
pub(crate) fn cut(report: &mut ScanReport) -> bool {
    let mut cut_any = false;
    for c in [&mut report.baseline, &mut report.previous]
        .into_iter()
        .flatten()
    {
        if !c.findings.is_empty() {
            c.findings.truncate(c.findings.len() / 2);
            c.truncated = true;
            cut_any = true;
        }
    }
    cut_any
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use cairn_scan::Change;

    use super::*;

    fn change(path: &str, kinds: &[ChangeKind], flags: &[Flag]) -> Change {
        Change {
            path: PathBuf::from(path),
            kinds: kinds.to_vec(),
            flags: flags.to_vec(),
            details: vec![],
        }
    }

    #[test]
    fn anomalies_are_counted_by_kind_and_listed_gravest_first() {
        let diff = Diff {
            changes: vec![
                change("/usr/bin/ls", &[ChangeKind::Content], &[Flag::SystemBinary]),
                change("/tmp/x", &[ChangeKind::Added], &[Flag::WorldWritable]),
                change("/opt/su", &[ChangeKind::Added], &[Flag::Setuid]),
                change("/etc/motd", &[ChangeKind::Content], &[]),
                change("/etc/old", &[ChangeKind::Removed], &[]),
            ],
        };
        let c = summarize("abc", &diff);
        let order: Vec<&str> = c.findings.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            order,
            ["/opt/su", "/tmp/x", "/usr/bin/ls", "/etc/motd", "/etc/old"]
        );
        assert_eq!(c.anomalies(), 3);
        assert_eq!(c.anomalies["setuid"], 1);
        assert_eq!(c.anomalies.get("capability"), None);
        assert_eq!((c.added, c.removed, c.changed), (2, 1, 2));
        assert_eq!(c.findings[0].changes, ["added"]);
        assert!(!c.truncated);
    }

    #[test]
    fn a_long_report_keeps_its_counts_when_its_findings_are_cut() {
        let changes = (0..MAX_FINDINGS + 10)
            .map(|i| change(&format!("/f{i:04}"), &[ChangeKind::Added], &[Flag::Setuid]))
            .collect();
        let mut report = ScanReport {
            baseline: Some(summarize("abc", &Diff { changes })),
            previous: None,
        };
        let c = report.baseline.as_ref().unwrap();
        assert!(c.truncated);
        assert_eq!(c.findings.len(), MAX_FINDINGS);
        assert!(cut(&mut report));
        let c = report.baseline.as_ref().unwrap();
        assert_eq!(c.findings.len(), MAX_FINDINGS / 2);
        assert_eq!(c.anomalies(), (MAX_FINDINGS + 10) as u64);
        while cut(&mut report) {}
        assert!(report.baseline.unwrap().findings.is_empty());
    }
}
