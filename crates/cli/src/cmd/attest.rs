//! `cairn attest add|get`: submit an in-toto link or DSSE envelope and prove its entry, or
//! prove that exactly this document is in the log (Rekor's `add|get --linkfile`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use cairn_api::LogEntry;
use cairn_client::attest::ProvenAttestation;

use crate::common::remote::{Remote, RemoteArgs};
use crate::common::trust::{ProofArgs, log_state};

/// `cairn attest …`
#[derive(Debug, clap::Subcommand)]
pub enum AttestCommand {
    /// Submit a signed in-toto link or DSSE envelope (takes the write token); prints its
    /// log index once its inclusion proof verifies under the log key.
    Add(AttestArgs),
    /// Find the entry of exactly this document: exit 0 only if the stored document is
    /// byte-identical and its inclusion proof verifies.
    Get(AttestArgs),
}

/// A document and how to prove it.
#[derive(Debug, clap::Args)]
pub struct AttestArgs {
    /// The link file or DSSE envelope.
    file: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    proof: ProofArgs,
    #[command(flatten)]
    remote: RemoteArgs,
}

/// Runs `cairn attest`.
pub fn run(cmd: AttestCommand) -> anyhow::Result<ExitCode> {
    let (adding, args) = match cmd {
        AttestCommand::Add(a) => (true, a),
        AttestCommand::Get(a) => (false, a),
    };
    let document =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let log = args.proof.verifier()?;
    let remote = Remote::new(&args.remote)?;
    if adding {
        remote.client.require_token()?;
    }
    let state = log_state()?;
    let shown = args.file.display();
    let proven = if adding {
        remote
            .runtime
            .block_on(cairn_client::attest::add(
                &remote.client,
                document,
                &log,
                &state,
            ))
            .with_context(|| format!("attest add {shown}"))?
    } else {
        remote
            .runtime
            .block_on(cairn_client::attest::get(
                &remote.client,
                &document,
                &log,
                &state,
            ))
            .with_context(|| format!("attest get {shown}"))?
    };
    print(&proven, adding, args.json)?;
    Ok(ExitCode::SUCCESS)
}

fn print(p: &ProvenAttestation, adding: bool, json: bool) -> anyhow::Result<()> {
    let LogEntry::Attestation {
        format,
        subjects,
        materials,
        signers,
        ..
    } = &p.entry
    else {
        anyhow::bail!("entry {} is not an attestation", p.index);
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "index": p.index, "digest": p.digest, "format": format, "subjects": subjects,
                "materials": materials, "signers": signers, "added": p.added,
                "checkpoint_size": p.checkpoint.size,
            }))?
        );
        return Ok(());
    }
    let how = match (adding, p.added) {
        (true, true) => "logged",
        (true, false) => "already logged",
        (false, _) => "found, stored document identical,",
    };
    println!(
        "attestation {} {how} at index {} ({format}, {} subject(s), {} material(s), signed by {}); \
         inclusion proven in the checkpoint of {} entries",
        p.digest,
        p.index,
        subjects.len(),
        materials.len(),
        signers.join(", "),
        p.checkpoint.size
    );
    Ok(())
}
