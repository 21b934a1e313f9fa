//! `cairn inspect FILE [--json]`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

/// Arguments of `cairn inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// Plugin binary (ELF, PE or Mach-O, thin or fat).
    file: PathBuf,
    /// Print the descriptors as JSON, in memflow-registry's shape.
    #[arg(long)]
    json: bool,
}

/// Prints the descriptors; exits 1 when the file holds none.
pub fn run(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let descriptors = cairn_plugin::analyze(&bytes)
        .with_context(|| format!("{} is not a valid plugin binary", args.file.display()))?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &descriptors)?;
        writeln!(out)?;
    } else if descriptors.is_empty() {
        writeln!(out, "{}: no plugin descriptors", args.file.display())?;
    } else {
        for d in &descriptors {
            writeln!(
                out,
                "{kind:<9} {name} {version}  abi {abi}  {ft}/{arch}  {export}\n          {desc}",
                kind = d.plugin_kind.as_str(),
                name = d.name,
                version = d.version,
                abi = d.plugin_version,
                ft = d.file_type.as_str(),
                arch = d.architecture.to_key(),
                export = d.export_name,
                desc = d.description,
            )?;
        }
    }
    Ok(if descriptors.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
