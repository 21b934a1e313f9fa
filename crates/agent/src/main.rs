//! `cairn-agent`: Cairn's boot-time scanning agent. It scans a root filesystem, signs the
//! scan with the host's key, submits it with the host's own token, and proves its log
//! entry before believing the registry's report; nothing else, so that an initramfs can
//! carry it (no OpenPGP, no server, no async runtime).
//!
//! Exit status: 0 = go on; 1 = `--enforce` and the boot must stop (anomalies against the
//! baseline, or no proven submission before the deadline); 2 = error.

mod boot;
mod config;
mod proof;
mod remote;
mod spool;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "cairn-agent",
    version,
    about = "Cairn's boot-time scanning agent"
)]
enum Command {
    /// Record a tree into a scan file (as `cairn scan` does).
    Scan {
        /// Roots to scan, as the scanned system sees them.
        #[arg(default_value = "/")]
        paths: Vec<PathBuf>,
        /// Where to write the scan.
        #[arg(long)]
        out: PathBuf,
        /// Scan a system mounted here (an initramfs's /sysroot) as it sees itself.
        #[arg(long)]
        root: Option<PathBuf>,
        /// Skip paths matching this glob (repeatable).
        #[arg(long)]
        exclude: Vec<String>,
        /// Stay on the filesystem of each root.
        #[arg(long)]
        one_file_system: bool,
        /// The host name the scan carries [default: this machine's].
        #[arg(long)]
        host: Option<String>,
        /// Worker threads [default: one per core].
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Scan the root filesystem at boot, spool the signed scan, submit it and prove it
    /// logged before the deadline (the dracut hook runs this).
    Boot {
        /// The configuration.
        #[arg(long, default_value = "/etc/cairn/agent.toml")]
        config: PathBuf,
        /// Where the root filesystem is mounted.
        #[arg(long, default_value = "/sysroot")]
        root: PathBuf,
        /// Where signed scans wait to be submitted.
        #[arg(long, default_value = "/run/cairn-scan")]
        spool: PathBuf,
        /// Seconds the registry has to take the scan.
        #[arg(long, default_value_t = 30)]
        deadline: u64,
        /// Registry URL (overrides the configuration).
        #[arg(long)]
        registry: Option<String>,
        /// Host name (overrides the configuration).
        #[arg(long)]
        host: Option<String>,
        /// Exit 1 on anomalies against the baseline, or without a proven submission.
        #[arg(long)]
        enforce: bool,
        /// Worker threads [default: one per core].
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Submit every spooled scan (a service of the booted system runs this); exit 1 when
    /// some are left.
    Flush {
        /// The configuration.
        #[arg(long, default_value = "/etc/cairn/agent.toml")]
        config: PathBuf,
        /// The spool.
        #[arg(long, default_value = "/run/cairn-scan")]
        spool: PathBuf,
        /// Seconds the registry has, for all of them.
        #[arg(long, default_value_t = 120)]
        deadline: u64,
    },
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Scan {
            paths,
            out,
            root,
            exclude,
            one_file_system,
            host,
            threads,
        } => {
            let mut scanner = cairn_scan::Scanner::new(paths).one_file_system(one_file_system);
            for glob in exclude {
                scanner = scanner.exclude(glob);
            }
            if let Some(root) = root {
                scanner = scanner.root(root);
            }
            if let Some(n) = threads {
                scanner = scanner.threads(n);
            }
            let mut scan = scanner.scan()?;
            if let Some(host) = host {
                scan.header.host = host;
            }
            let tmp = out.with_extension("partial");
            let file = std::fs::File::create(&tmp)
                .with_context(|| format!("creating {}", tmp.display()))?;
            let trailer = cairn_scan::Manifest::write(&scan, &file)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &out).with_context(|| format!("writing {}", out.display()))?;
            eprintln!(
                "cairn-agent: {} entries ({} with errors) -> {}",
                trailer.entries,
                trailer.errors,
                out.display()
            );
            Ok(ExitCode::from(u8::from(trailer.errors > 0)))
        }
        Command::Boot {
            config,
            root,
            spool,
            deadline,
            registry,
            host,
            enforce,
            threads,
        } => {
            let verdict = boot::boot(boot::BootScan {
                config,
                root,
                spool,
                deadline: Duration::from_secs(deadline),
                registry,
                host,
                enforce,
                threads,
            })?;
            Ok(match verdict {
                boot::Verdict::Proceed => ExitCode::SUCCESS,
                boot::Verdict::Refuse => ExitCode::from(1),
            })
        }
        Command::Flush {
            config,
            spool,
            deadline,
        } => {
            let left = boot::flush(&config, &spool, Duration::from_secs(deadline))?;
            Ok(ExitCode::from(u8::from(left > 0)))
        }
    }
}

fn main() -> ExitCode {
    match run(Command::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cairn: {e:#}");
            ExitCode::from(2)
        }
    }
}
