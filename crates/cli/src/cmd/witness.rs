//! `cairn witness serve` and `cairn witness key`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use cairn_server::witness::WitnessServer;
use cairn_witness::{Witness, WitnessConfig};

/// `eprintln!` that cannot panic: a closed stderr must not stop the witness.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// `cairn witness …`.
#[derive(Debug, clap::Subcommand)]
pub enum WitnessCommand {
    /// Serve C2SP tlog-witness `POST /add-checkpoint` for the logs of the configuration
    /// (its key and database are created on first start).
    Serve(ServeArgs),
    /// Print the witness's verifier key (what clients pin), creating the key if missing.
    Key(KeyArgs),
}

/// Arguments of `cairn witness serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The configuration file (TOML: name, key, database, [[log]] origin and key)
    #[arg(long, env = "CAIRN_WITNESS_CONFIG")]
    config: PathBuf,
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1:7380")]
    addr: SocketAddr,
}

/// Arguments of `cairn witness key`.
#[derive(Debug, clap::Args)]
pub struct KeyArgs {
    /// The configuration file
    #[arg(long, env = "CAIRN_WITNESS_CONFIG")]
    config: PathBuf,
}

/// Runs a `witness` subcommand.
pub fn run(cmd: WitnessCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let done = runtime.block_on(async move {
        match cmd {
            WitnessCommand::Key(args) => {
                let config = WitnessConfig::load(&args.config)?;
                let witness = Witness::open(&config).await?;
                println!("{}", witness.verifier());
                Ok(ExitCode::SUCCESS)
            }
            WitnessCommand::Serve(args) => serve(args).await,
        }
    });
    drop(runtime);
    cairn_secmem::purge();
    done
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = cairn_secmem::disable_core_dumps() {
        tracing::warn!("could not disable core dumps: {e}");
    }
    let config = WitnessConfig::load(&args.config)?;
    let witness = Witness::open(&config).await?;
    let server = WitnessServer::bind(args.addr, cairn_server::Limits::default(), witness)
        .await
        .context("starting the witness")?;
    let w = server.witness();
    if w.key_created() {
        say!("cairn: generated the witness key {}", config.key.display());
    }
    for origin in w.origins() {
        say!(
            "cairn: witnessing {origin}, cosigned to {} entries",
            w.size(origin).await?
        );
    }
    say!("cairn: witness verifier key:");
    say!("{}", w.verifier());
    say!("cairn: listening on http://{}", server.local_addr());
    server.run(crate::common::shutdown::signal()).await;
    Ok(ExitCode::SUCCESS)
}
