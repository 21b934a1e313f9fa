//! The subcommands.

mod inspect;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Cairn: a registry for signed binary plugins.
#[derive(Debug, Parser)]
#[command(name = "cairn", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the registry server (memflow-registry compatible API).
    Serve(serve::ServeArgs),
    /// Print the plugin descriptors of a local binary.
    Inspect(inspect::InspectArgs),
}

/// Runs the chosen command.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Inspect(args) => inspect::run(args),
    }
}
