//! `cairn`: one command for the registry server and its tools.
//!
//! `main` only parses arguments, runs the chosen command and turns its result into an exit
//! code; every command is a thin front-end over a library crate.
#![forbid(unsafe_code)]

mod cmd;
mod common;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // `.env` fills in variables that are not already set; flags and real env still win.
    let _ = dotenvy::dotenv();
    let args = cmd::Cli::parse();
    match cmd::run(args) {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("cairn: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// A closed stdout (`cairn ls | head`) is not a failure. A pipe a registry closed during an
/// upload is: those errors come through the registry client.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    if e.chain().any(|c| c.is::<cairn_client::Error>()) {
        return false;
    }
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
