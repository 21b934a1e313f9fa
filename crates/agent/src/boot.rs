//! `cairn-agent boot` and `flush`: scan the root filesystem, sign and spool the scan,
//! submit it before a deadline, prove it logged, and say whether the boot may go on.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use cairn_api::ScanReport;
use cairn_scan::{Manifest, Scanner};
use cairn_tlog::NoteVerifier;

use crate::config::Config;
use crate::proof;
use crate::remote::{Remote, SubmitError};
use crate::spool::{Spool, Spooled};

/// What the boot hook is told: go on, or (with `--enforce`) stop.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Submitted and proven with no anomaly, or spooled with enforcement off.
    Proceed,
    /// Enforcement is on and the boot must stop (anomalies, or no proven submission).
    Refuse,
}

/// Options of one boot scan.
#[derive(Debug)]
pub struct BootScan {
    /// The configuration file.
    pub config: PathBuf,
    /// Where the root filesystem is mounted (`$NEWROOT`, `/sysroot`).
    pub root: PathBuf,
    /// Where signed scans wait to be submitted.
    pub spool: PathBuf,
    /// How long the registry has to answer.
    pub deadline: Duration,
    /// Overrides the configuration's registry URL.
    pub registry: Option<String>,
    /// Overrides the configuration's host name.
    pub host: Option<String>,
    /// Refuse the boot on anomalies or without a proven submission.
    pub enforce: bool,
    /// Scanner threads.
    pub threads: Option<usize>,
}

/// Scans, spools, submits; the verdict for the boot hook.
pub fn boot(opts: BootScan) -> anyhow::Result<Verdict> {
    let mut config = Config::load(&opts.config)?;
    if let Some(r) = opts.registry {
        config.registry = Some(r);
    }
    if let Some(h) = opts.host {
        config.host = Some(h);
    }
    let host = config.host.clone().context(
        "no host name: set host in the configuration or cairn.host= on the kernel command line",
    )?;
    anyhow::ensure!(
        cairn_api::is_valid_host_name(&host),
        "{host:?} is no host name the registry takes"
    );
    let registry = config
        .registry
        .clone()
        .context("no registry: set registry in the configuration or cairn.registry=")?;
    let log = NoteVerifier::parse(&config.log_key).context("the log key in the configuration")?;
    let key = cairn_sign::PrivateKey::from_pem_file(&config.key, None)
        .with_context(|| format!("the host key {}", config.key.display()))?;
    anyhow::ensure!(
        key.algorithm() != cairn_sign::Algorithm::Ed25519,
        "scans carry ECDSA signatures: the host key must be secp256k1 or P-256"
    );
    let token = config.read_token()?;
    let spool = Spool::open(&opts.spool)?;

    let started = Instant::now();
    let mut scanner = Scanner::new(config.paths.clone())
        .one_file_system(config.one_file_system)
        .root(&opts.root);
    for glob in &config.exclude {
        scanner = scanner.exclude(glob.clone());
    }
    if let Some(n) = opts.threads {
        scanner = scanner.threads(n);
    }
    let mut scan = scanner.scan().context("scanning")?;
    scan.header.host = host.clone();
    let spooled = spool.put(
        |file| {
            Manifest::write(&scan, file)?;
            Ok(())
        },
        |digest| Ok(hex::encode(key.sign_digest(digest)?)),
    )?;
    drop(key);
    eprintln!(
        "cairn: scanned {} entries of {} in {:.1} s: scan {}",
        scan.records.len(),
        opts.root.display(),
        started.elapsed().as_secs_f64(),
        &spooled.digest[..16]
    );
    drop(scan);

    let remote = Remote::new(&registry, token, Instant::now() + opts.deadline)?;
    match submit(&remote, &spool, &spooled, &log) {
        Ok(logged) => Ok(judge(&host, logged.report.as_ref(), opts.enforce)),
        Err(Failure::Kept(e)) => {
            eprintln!(
                "cairn: {e}; the signed scan waits in {} for `cairn-agent flush`",
                opts.spool.display()
            );
            Ok(if opts.enforce {
                Verdict::Refuse
            } else {
                Verdict::Proceed
            })
        }
        Err(Failure::Refused(e)) => Err(e),
    }
}

/// Why a spooled scan was not submitted.
enum Failure {
    /// Not now: it stays spooled.
    Kept(SubmitError),
    /// Refused, or its proof failed: an error to show.
    Refused(anyhow::Error),
}

/// Submits one spooled scan, proves it logged and unspools it.
fn submit(
    remote: &Remote,
    spool: &Spool,
    s: &Spooled,
    log: &NoteVerifier,
) -> Result<proof::Logged, Failure> {
    let added = match remote.submit(&s.scan, &s.signature) {
        Ok(added) => added,
        Err(e @ SubmitError::Unreachable(_)) => return Err(Failure::Kept(e)),
        Err(e) => {
            return Err(Failure::Refused(
                anyhow::Error::new(e).context(format!("submitting scan {}", s.digest)),
            ));
        }
    };
    if added.scan.digest != s.digest {
        return Err(Failure::Refused(anyhow::anyhow!(
            "the registry answered for scan {}, not {}",
            added.scan.digest,
            s.digest
        )));
    }
    let answer = remote.proof(&s.digest).map_err(|e| match e {
        e @ SubmitError::Unreachable(_) => Failure::Kept(e),
        e => Failure::Refused(anyhow::Error::new(e).context("fetching the scan's log proof")),
    })?;
    let logged = proof::prove(&answer, log, &s.digest)
        .map_err(|e| Failure::Refused(anyhow::Error::new(e).context("proving the scan logged")))?;
    spool
        .remove(s)
        .map_err(|e| Failure::Refused(e.context("unspooling a submitted scan")))?;
    eprintln!(
        "cairn: scan {} submitted ({:?}) and proven in the log at entry {}",
        &s.digest[..16],
        added.outcome,
        logged.index
    );
    Ok(logged)
}

/// Prints the logged report's anomalies and decides.
fn judge(host: &str, report: Option<&ScanReport>, enforce: bool) -> Verdict {
    let Some(c) = report.and_then(|r| r.baseline.as_ref()) else {
        eprintln!("cairn: {host} has no baseline yet: nothing to compare with");
        return Verdict::Proceed;
    };
    if c.anomalies() == 0 {
        eprintln!(
            "cairn: no anomaly against the baseline {} ({} added, {} removed, {} changed)",
            &c.against[..16.min(c.against.len())],
            c.added,
            c.removed,
            c.changed
        );
        return Verdict::Proceed;
    }
    eprintln!(
        "cairn: {} ANOMALIES against the baseline {}:",
        c.anomalies(),
        &c.against[..16.min(c.against.len())]
    );
    for f in c.findings.iter().filter(|f| !f.anomalies.is_empty()) {
        eprintln!(
            "cairn:   {} {} ({})",
            f.anomalies.join(",").to_uppercase(),
            f.path,
            f.details.join("; ")
        );
    }
    if enforce {
        Verdict::Refuse
    } else {
        Verdict::Proceed
    }
}

/// Submits every spooled scan; the number left spooled.
pub fn flush(config: &Path, spool: &Path, deadline: Duration) -> anyhow::Result<usize> {
    let config = Config::load(config)?;
    let registry = config
        .registry
        .clone()
        .context("no registry in the configuration")?;
    let log = NoteVerifier::parse(&config.log_key).context("the log key in the configuration")?;
    let remote = Remote::new(&registry, config.read_token()?, Instant::now() + deadline)?;
    let spool = Spool::open(spool)?;
    let mut left = 0;
    for s in spool.list()? {
        match submit(&remote, &spool, &s, &log) {
            Ok(_) => {}
            Err(Failure::Kept(e)) => {
                eprintln!("cairn: scan {}: {e}; kept", &s.digest[..16]);
                left += 1;
            }
            Err(Failure::Refused(e)) => {
                eprintln!("cairn: scan {}: {e:#}; kept", &s.digest[..16]);
                left += 1;
            }
        }
    }
    Ok(left)
}
