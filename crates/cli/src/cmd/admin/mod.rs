//! `cairn admin`: offline upkeep of an installation (`reindex`, `verify`, `migrate`), and
//! the hosts a running registry takes scans from (`host`, `baseline`).

mod hosts;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use cairn_registry::{Registry, RegistryConfig};

use crate::common::env::first_set;
use crate::common::log_key::LogKeyArgs;
use crate::common::storage::StorageArgs;

/// `cairn admin …`
#[derive(Debug, clap::Subcommand)]
pub enum AdminCommand {
    /// Hosts that submit scans, each with its own token and key (on a running registry).
    #[command(subcommand)]
    Host(hosts::HostCommand),
    /// The scan each host's arriving scans are compared with (on a running registry).
    #[command(subcommand)]
    Baseline(hosts::BaselineCommand),
    /// Rebuild the index from the transparency log alone (stop the servers first): the
    /// embedded SQLite file anew, or on PostgreSQL (--database) in one transaction.
    Reindex {
        /// The registry's data directory.
        #[arg(long)]
        data: PathBuf,
        /// Rebuild only the log's search index (in one transaction).
        #[arg(long)]
        search: bool,
        #[command(flatten)]
        log: LogKeyArgs,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Check an embedded installation: audit the log, then compare every indexed artifact
    /// and scan with what the log publishes, and hash every blob; exit 1 on any mismatch.
    Verify {
        /// The registry's data directory.
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        log: LogKeyArgs,
        /// Remove blobs that nothing publishes (left by a crash between storing and logging).
        #[arg(long)]
        delete_orphans: bool,
    },
    /// Move an embedded installation (stopped) to PostgreSQL and an S3-compatible bucket,
    /// then prove the move: every blob read back and hashed, the log audited with the same
    /// root, the same digests indexed. Start the instances with the same --log-key.
    Migrate {
        /// The embedded installation's data directory (its log key at FROM/keys/log.pem
        /// unless --log-key says otherwise).
        #[arg(long)]
        from: PathBuf,
        /// PostgreSQL URL of the destination, an empty database; the variable keeps a
        /// password out of the process list [env: CAIRN_DATABASE]
        #[arg(long)]
        to_database: Option<String>,
        /// Destination bucket (`s3://bucket/prefix`), empty; credentials from AWS_*.
        #[arg(long)]
        to_object_store: String,
        /// Endpoint of a non-AWS S3-compatible store [env: CAIRN_S3_ENDPOINT, AWS_ENDPOINT_URL]
        #[arg(long)]
        s3_endpoint: Option<String>,
        #[command(flatten)]
        log: LogKeyArgs,
    },
}

/// A progress bar that restarts for each step of a migration.
struct Bar(indicatif::ProgressBar);

impl cairn_registry::migrate::Progress for Bar {
    fn stage(&self, what: &str, total: u64) {
        self.0.set_message(what.to_owned());
        self.0.set_length(total);
        self.0.set_position(0);
    }

    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
}

fn verify(scrub: cairn_registry::scrub::Scrub) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    let report = runtime
        .block_on(cairn_registry::scrub::scrub(&scrub))
        .with_context(|| format!("verifying {}", scrub.data_dir.display()))?;
    for problem in &report.problems {
        println!("MISMATCH {problem}");
    }
    for orphan in &report.orphans {
        let done = if scrub.delete_orphans {
            "deleted"
        } else {
            "kept (--delete-orphans removes it)"
        };
        println!("orphan blob {orphan}: nothing publishes it; {done}");
    }
    println!(
        "{}: {} log entries, {} artifacts, {} scans, {} blob bytes hashed, {} orphan blobs, {} problems",
        if report.problems.is_empty() {
            "verified"
        } else {
            "FAILED"
        },
        report.entries,
        report.artifacts,
        report.scans,
        report.bytes,
        report.orphans.len(),
        report.problems.len()
    );
    Ok(if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn migrate(migration: cairn_registry::migrate::Migration) -> anyhow::Result<ExitCode> {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:24} [{bar:40}] {pos}/{len} ({elapsed})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let progress = Bar(bar);
    let runtime = tokio::runtime::Runtime::new()?;
    let done = runtime
        .block_on(cairn_registry::migrate::migrate(&migration, &progress))
        .with_context(|| format!("migrating {}", migration.from.display()))?;
    progress.0.finish_and_clear();
    println!(
        "migrated {} blobs ({} bytes), {} attestations and {} log entries to {} and {}",
        done.blobs,
        done.bytes,
        done.attestations,
        done.entries,
        migration.database_display(),
        migration.object_store
    );
    println!(
        "verified: every blob read back and hashed, the log audited (root {}), the same \
         digests indexed",
        done.root
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `cairn admin`.
pub fn run(cmd: AdminCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AdminCommand::Host(cmd) => hosts::host(cmd),
        AdminCommand::Baseline(cmd) => hosts::baseline(cmd),
        AdminCommand::Reindex {
            data,
            search,
            log,
            storage,
        } => {
            let mut config = RegistryConfig::new(&data);
            config.log = log.to_log_key();
            storage.apply(&mut config);
            reindex(config, search)
        }
        AdminCommand::Verify {
            data,
            log,
            delete_orphans,
        } => verify(cairn_registry::scrub::Scrub {
            log: log.to_log_key(),
            data_dir: data,
            delete_orphans,
        }),
        AdminCommand::Migrate {
            from,
            to_database,
            to_object_store,
            s3_endpoint,
            log,
        } => migrate(cairn_registry::migrate::Migration {
            log: log.to_log_key(),
            from,
            database: to_database
                .or_else(|| first_set(&["CAIRN_DATABASE"]))
                .context("give --to-database or CAIRN_DATABASE")?,
            object_store: to_object_store,
            s3_endpoint: crate::common::storage::s3_endpoint(s3_endpoint),
        }),
    }
}

fn reindex(config: RegistryConfig, search_only: bool) -> anyhow::Result<ExitCode> {
    if config.database.is_none() && config.object_store.is_none() {
        let data = &config.data_dir;
        if !data.join("log/checkpoint").exists() {
            anyhow::bail!("{} holds no transparency log", data.display());
        }
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let size = runtime.block_on(async {
        let registry = if search_only {
            Registry::reindex_search(config).await
        } else {
            Registry::reindex(config).await
        }
        .context("rebuilding the index")?;
        Ok::<_, anyhow::Error>(registry.log().size())
    })?;
    let what = if search_only { "search index" } else { "index" };
    println!("{what} rebuilt from {size} log entries");
    Ok(ExitCode::SUCCESS)
}
