//! The host and scan pages: enrolled hosts, each host's scans newest first, and one scan
//! with what its arrival found against the baseline and the previous scan, anomalies
//! (setuid and setgid, capabilities, world-writable, changed system binaries) first.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use cairn_api::{Comparison, HostSummary, ScanReport, ScanSummary};
use cairn_registry::Digest;

use super::page::{UiError, cached, render};
use super::summary::host_href;
use super::text::time;
use crate::app::AppState;

/// Scans listed on a host's page (and the latest ones on the hosts page).
const SCANS_PER_PAGE: u32 = 50;

/// A scan as a row of a list.
pub struct ScanRow {
    /// Its summary.
    pub scan: ScanSummary,
    /// Upload time.
    pub created: String,
    /// Anomalies against the baseline, when one was set at its arrival.
    pub anomalies: Option<u64>,
}

/// A host as a row of the hosts list.
pub struct HostRow {
    /// Its summary.
    pub host: HostSummary,
    /// Its page.
    pub href: String,
    /// Enrolment time.
    pub enrolled: String,
}

#[derive(Template)]
#[template(path = "hosts.html")]
struct HostsPage {
    title: String,
    hosts: Vec<HostRow>,
    scans: Vec<ScanRow>,
}

async fn rows(state: &AppState, scans: Vec<ScanSummary>) -> Result<Vec<ScanRow>, UiError> {
    let mut out = Vec::with_capacity(scans.len());
    for scan in scans {
        let report = match Digest::parse(&scan.digest) {
            Some(d) => state.registry.scan_report(&d).await?.flatten(),
            None => None,
        };
        out.push(ScanRow {
            created: time(&scan.created_at),
            anomalies: report
                .as_ref()
                .and_then(|r| r.baseline.as_ref())
                .map(Comparison::anomalies),
            scan,
        });
    }
    Ok(out)
}

/// `GET /ui/hosts`: every enrolled host and the latest scans of all.
pub async fn list(State(state): State<AppState>) -> Result<Response, UiError> {
    cached(&state, "hosts".into(), async {
        let hosts = state
            .registry
            .hosts()
            .await?
            .into_iter()
            .map(|host| HostRow {
                href: host_href(&host.name),
                enrolled: time(&host.created_at),
                host,
            })
            .collect();
        let scans = state.registry.scans(None, SCANS_PER_PAGE).await?;
        render(&HostsPage {
            title: "Hosts and scans".into(),
            hosts,
            scans: rows(&state, scans).await?,
        })
    })
    .await
}

#[derive(Template)]
#[template(path = "host.html")]
struct HostPage {
    title: String,
    host: HostSummary,
    enrolled: String,
    scans: Vec<ScanRow>,
}

/// `GET /ui/hosts/{name}`: one host and its scans, newest first.
pub async fn show(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, UiError> {
    if !cairn_api::is_valid_host_name(&name) {
        return Err(UiError::bad_request(
            "A host name is letters, digits, '.', '-' and '_'.",
        ));
    }
    cached(&state, format!("host\0{name}"), async {
        let Some(host) = state.registry.host(&name).await? else {
            return Err(UiError::not_found("No host of this name is enrolled here."));
        };
        let scans = state.registry.scans(Some(&name), SCANS_PER_PAGE).await?;
        render(&HostPage {
            title: format!("Host {name}"),
            enrolled: time(&host.created_at),
            scans: rows(&state, scans).await?,
            host,
        })
    })
    .await
}

/// One comparison as the scan page shows it.
pub struct ComparisonView {
    /// `baseline` or `previous scan`.
    pub label: &'static str,
    /// The comparison.
    pub c: Comparison,
    /// Anomalies of all kinds.
    pub anomalies: u64,
}

#[derive(Template)]
#[template(path = "scan.html")]
struct ScanPage {
    title: String,
    scan: ScanSummary,
    host_href: String,
    created: String,
    comparisons: Vec<ComparisonView>,
    analysed: bool,
}

/// `GET /ui/scans/{digest}`: one scan and its report.
pub async fn scan(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Response, UiError> {
    let digest = Digest::parse(&raw)
        .ok_or_else(|| UiError::bad_request("A scan digest is 64 lowercase hex characters."))?;
    cached(&state, format!("scan\0{}", digest.to_hex()), async {
        let Some(scan) = state.registry.scan(&digest).await? else {
            return Err(UiError::not_found(
                "No scan with this digest is stored here.",
            ));
        };
        let report = state.registry.scan_report(&digest).await?.flatten();
        render(&ScanPage {
            title: format!("Scan of {}", scan.host),
            host_href: host_href(&scan.host),
            created: time(&scan.created_at),
            analysed: report.is_some(),
            comparisons: comparisons(report),
            scan,
        })
    })
    .await
}

fn comparisons(report: Option<ScanReport>) -> Vec<ComparisonView> {
    let Some(report) = report else {
        return Vec::new();
    };
    [
        ("baseline", report.baseline),
        ("previous scan", report.previous),
    ]
    .into_iter()
    .filter_map(|(label, c)| {
        c.map(|c| ComparisonView {
            label,
            anomalies: c.anomalies(),
            c,
        })
    })
    .collect()
}
