//! `cairn admin reindex` and `cairn admin migrate`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use cairn_registry::{Registry, RegistryConfig};

/// `cairn admin …`
#[derive(Debug, clap::Subcommand)]
pub enum AdminCommand {
    /// Rebuild the index database from the transparency log alone (stop the server first).
    Reindex {
        /// The registry's data directory.
        #[arg(long)]
        data: PathBuf,
        /// Log key file [default: DATA/keys/log.pem].
        #[arg(long)]
        log_key: Option<PathBuf>,
        /// Log origin [default: HOSTNAME/log].
        #[arg(long)]
        log_origin: Option<String>,
    },
    /// Check an embedded installation: audit the log, then compare every indexed artifact
    /// and scan with what the log publishes, and hash every blob; exit 1 on any mismatch.
    Verify {
        /// The registry's data directory.
        #[arg(long)]
        data: PathBuf,
        /// Log key file [default: DATA/keys/log.pem].
        #[arg(long)]
        log_key: Option<PathBuf>,
        /// Log origin [default: HOSTNAME/log].
        #[arg(long)]
        log_origin: Option<String>,
        /// Remove blobs that nothing publishes (left by a crash between storing and logging).
        #[arg(long)]
        delete_orphans: bool,
    },
    /// Move an embedded installation (stopped) to PostgreSQL and an S3-compatible bucket,
    /// then prove the move: every blob read back and hashed, the log audited with the same
    /// root, the same digests indexed. Start the instances with the same --log-key.
    Migrate {
        /// The embedded installation's data directory.
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
        /// Log key file [default: FROM/keys/log.pem].
        #[arg(long)]
        log_key: Option<PathBuf>,
        /// Log origin [default: HOSTNAME/log].
        #[arg(long)]
        log_origin: Option<String>,
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
    let (data, log_key, log_origin) = match cmd {
        AdminCommand::Reindex {
            data,
            log_key,
            log_origin,
        } => (data, log_key, log_origin),
        AdminCommand::Verify {
            data,
            log_key,
            log_origin,
            delete_orphans,
        } => {
            return verify(cairn_registry::scrub::Scrub {
                log_key: log_key.unwrap_or_else(|| data.join("keys/log.pem")),
                origin: log_origin.unwrap_or_else(cairn_tlog::keyfile::default_origin),
                data_dir: data,
                delete_orphans,
            });
        }
        AdminCommand::Migrate {
            from,
            to_database,
            to_object_store,
            s3_endpoint,
            log_key,
            log_origin,
        } => {
            let to_database = match to_database {
                Some(url) => url,
                None => std::env::var("CAIRN_DATABASE")
                    .ok()
                    .filter(|v| !v.is_empty())
                    .context("give --to-database or CAIRN_DATABASE")?,
            };
            return migrate(cairn_registry::migrate::Migration {
                log_key: log_key.unwrap_or_else(|| from.join("keys/log.pem")),
                origin: log_origin.unwrap_or_else(cairn_tlog::keyfile::default_origin),
                from,
                database: to_database,
                object_store: to_object_store,
                s3_endpoint: s3_endpoint.or_else(|| {
                    ["CAIRN_S3_ENDPOINT", "AWS_ENDPOINT_URL"]
                        .iter()
                        .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
                }),
            });
        }
    };
    if !data.join("log/checkpoint").exists() {
        anyhow::bail!("{} holds no transparency log", data.display());
    }
    let mut config = RegistryConfig::new(&data);
    config.log_key = log_key;
    config.log_origin = log_origin;
    let runtime = tokio::runtime::Runtime::new()?;
    let size = runtime.block_on(async {
        let registry = Registry::reindex(config)
            .await
            .context("rebuilding the index")?;
        Ok::<_, anyhow::Error>(registry.log().size())
    })?;
    println!("index rebuilt from {size} log entries");
    Ok(ExitCode::SUCCESS)
}
