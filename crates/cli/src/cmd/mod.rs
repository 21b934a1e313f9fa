//! The subcommands.

mod admin;
mod attest;
mod efi;
mod inspect;
mod keys;
mod log;
mod mirror;
mod publish;
mod pull;
mod scan;
mod serve;
mod trust;
mod witness;

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
    /// A pull-through mirror's directory, filled ahead of need.
    #[command(subcommand)]
    Mirror(mirror::MirrorCommand),
    /// Maintenance of a registry's data directory.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Audit a transparency log (any C2SP tlog-tiles log), or search a registry's.
    #[command(subcommand)]
    Log(log::LogCommand),
    /// Submit in-toto links and DSSE envelopes to a registry's log, and prove them.
    #[command(subcommand)]
    Attest(attest::AttestCommand),
    /// Make a key pair (secp256k1, P-256 or Ed25519; PKCS#8 PEM, optionally encrypted).
    Keygen(keys::KeygenArgs),
    /// Show the public key or the id of a key.
    #[command(subcommand)]
    Key(keys::KeyCommand),
    /// Make a detached signature of a file.
    Sign(keys::SignArgs),
    /// Check a detached signature (or a signed in-toto link / DSSE envelope).
    Verify(keys::VerifyArgs),
    /// Sign and upload plugin binaries, or a package with its detached signatures.
    #[command(disable_version_flag = true)]
    Push(publish::PushArgs),
    /// List plugins, or the variants of one.
    Ls(publish::LsArgs),
    /// Show the metadata of a file in a registry.
    Info(publish::InfoArgs),
    /// Download a plugin or a package, verified against your trust policy and the
    /// transparency log.
    Pull(pull::PullArgs),
    /// Delete a file from a registry.
    Rm(publish::RmArgs),
    /// Print shell completions.
    Completions {
        /// Shell.
        shell: clap_complete::Shell,
    },
    /// Write, sign and check a trust policy (root keys, signers, deny list).
    #[command(subcommand)]
    Trust(trust::TrustCommand),
    /// Record a filesystem (digests, permissions, owners, attributes) and compare records.
    Scan(scan::ScanArgs),
    /// UEFI Secure Boot: image digests and signature lists.
    #[command(subcommand)]
    Efi(efi::EfiCommand),
    /// A C2SP tlog-witness that cosigns other registries' checkpoints.
    #[command(subcommand)]
    Witness(witness::WitnessCommand),
}

/// Runs the chosen command.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Scan(args) => scan::run(args),
        Command::Efi(cmd) => efi::run(cmd),
        Command::Log(cmd) => log::run(cmd),
        Command::Attest(cmd) => attest::run(cmd),
        Command::Admin(cmd) => admin::run(cmd),
        Command::Mirror(cmd) => mirror::run(cmd),
        Command::Witness(cmd) => witness::run(cmd),
        Command::Keygen(args) => keys::keygen(args),
        Command::Key(cmd) => keys::key(cmd),
        Command::Sign(args) => keys::sign(args),
        Command::Verify(args) => keys::verify(args),
        Command::Trust(cmd) => trust::run(cmd),
        Command::Push(args) => publish::push(args),
        Command::Ls(args) => publish::ls(args),
        Command::Info(args) => publish::info(args),
        Command::Pull(args) => pull::pull(args),
        Command::Rm(args) => publish::rm(args),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "cairn", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap checks argument definitions only when a command is built: check them all here.
    #[test]
    fn argument_definitions_are_consistent() {
        super::Cli::command().debug_assert();
    }
}
