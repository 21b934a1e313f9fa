//! `cairn scan report HOST`: the registry's reports of a host's scans, newest first, and
//! the findings of one of them.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context;
use cairn_api::{Comparison, ReportAnswer};

use crate::common::remote::{Remote, RemoteArgs};

/// Arguments of `cairn scan report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The host.
    host: String,
    /// Show this scan's findings [default: the newest scan's].
    #[arg(long)]
    scan: Option<String>,
    /// How many scans to list.
    #[arg(long, default_value_t = 10)]
    limit: u32,
    /// Print the shown report as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    remote: RemoteArgs,
}

/// Runs `cairn scan report`: exit 0 when the shown scan has no anomaly against the host's
/// baseline, 1 when it has, 2 on error.
pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let remote = Remote::new(&args.remote)?;
    let client = &remote.client;
    let (list, shown) = remote.runtime.block_on(async {
        let list = client.scans(Some(&args.host)).await?;
        let digest = match &args.scan {
            Some(d) => Some(d.clone()),
            None => list.scans.first().map(|s| s.digest.clone()),
        };
        let shown = match digest {
            Some(d) => Some(client.scan_report(&d).await?),
            None => None,
        };
        Ok::<_, anyhow::Error>((list, shown))
    })?;
    let shown = shown.with_context(|| format!("the registry holds no scan of {}", args.host))?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &shown)?;
        writeln!(out)?;
    } else {
        for s in list.scans.iter().take(args.limit as usize) {
            let report = if s.digest == shown.scan.digest {
                summary(&shown)
            } else {
                let answer = remote.runtime.block_on(client.scan_report(&s.digest))?;
                summary(&answer)
            };
            writeln!(out, "{}  {}  {report}", &s.digest[..16], s.created_at)?;
        }
        writeln!(out)?;
        print_findings(&mut out, &shown)?;
    }
    let anomalies = shown.report.as_ref().map_or(0, |r| r.anomalies());
    Ok(if anomalies == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// One line: anomalies against the baseline, changes against the previous scan.
fn summary(answer: &ReportAnswer) -> String {
    let Some(report) = &answer.report else {
        return "(stored before reports)".into();
    };
    let baseline = match &report.baseline {
        Some(c) if c.anomalies() == 0 => "baseline: no anomaly".to_owned(),
        Some(c) => format!("baseline: {} ANOMALIES ({})", c.anomalies(), kinds(c)),
        None => "baseline: none set".to_owned(),
    };
    let previous = match &report.previous {
        Some(c) => format!(
            "previous: {} added, {} removed, {} changed",
            c.added, c.removed, c.changed
        ),
        None => "previous: first scan".to_owned(),
    };
    format!("{baseline}; {previous}")
}

fn kinds(c: &Comparison) -> String {
    let parts: Vec<String> = c
        .anomalies
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    parts.join(", ")
}

fn print_findings(out: &mut impl std::io::Write, answer: &ReportAnswer) -> anyhow::Result<()> {
    let scan = &answer.scan;
    writeln!(
        out,
        "scan {} of {} ({} entries)",
        scan.digest, scan.host, scan.entries
    )?;
    let Some(report) = &answer.report else {
        writeln!(
            out,
            "  no report: stored before the registry analysed scans"
        )?;
        return Ok(());
    };
    for (what, c) in [
        ("baseline", &report.baseline),
        ("previous scan", &report.previous),
    ] {
        let Some(c) = c else { continue };
        writeln!(
            out,
            "against the {what} {}: {} anomalies, {} added, {} removed, {} changed",
            &c.against[..16.min(c.against.len())],
            c.anomalies(),
            c.added,
            c.removed,
            c.changed
        )?;
        for f in &c.findings {
            let mark = if f.anomalies.is_empty() {
                String::new()
            } else {
                format!("!! {} ", f.anomalies.join(",").to_uppercase())
            };
            writeln!(
                out,
                "  {mark}{:<18} {}  {}",
                f.changes.join(","),
                f.path,
                f.details.join("; ")
            )?;
        }
        if c.truncated {
            writeln!(
                out,
                "  … more: compare the scans with `cairn scan diff` for all"
            )?;
        }
    }
    Ok(())
}
