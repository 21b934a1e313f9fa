//! `cairn efi show`: what a signature list or signed update holds.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context;
use cairn_efi::siglist;
use cairn_efi::{Guid, cert};

use super::read;

/// Prints the lists of `file` (an `.esl`, or the list inside an `.auth`).
pub(super) fn show(file: &Path) -> anyhow::Result<()> {
    let bytes = read(file)?;
    let mut out = std::io::stdout().lock();
    let lists = match siglist::parse(&bytes) {
        Ok(lists) => lists,
        Err(e) => {
            let update = cairn_efi::auth::parse(&bytes)
                .map_err(|_| e)
                .with_context(|| {
                    format!(
                        "{} is not an EFI signature list (nor a signed update)",
                        file.display()
                    )
                })?;
            let t = update.time;
            writeln!(
                out,
                "signed update at {:04}-{:02}-{:02} {:02}:{:02}:{:02}, signature {} bytes",
                u16::from_le_bytes([t[0], t[1]]),
                t[2],
                t[3],
                t[4],
                t[5],
                t[6],
                update.signature.len()
            )?;
            siglist::parse(update.list)
                .with_context(|| format!("the list in {}", file.display()))?
        }
    };
    print_lists(&mut out, &lists)?;
    Ok(())
}

/// Prints each list: its type and entries (a certificate's subject and SHA-256, or a digest).
pub(super) fn print_lists(
    out: &mut impl std::io::Write,
    lists: &[siglist::SignatureList],
) -> anyhow::Result<()> {
    for (i, list) in lists.iter().enumerate() {
        let kind = match list.kind {
            Guid::CERT_X509 => "X509".to_owned(),
            Guid::CERT_SHA256 => "SHA256".to_owned(),
            other => format!("type {other}"),
        };
        writeln!(out, "list {i}: {kind}, {} entries", list.entries.len())?;
        for e in &list.entries {
            let what = match list.kind {
                Guid::CERT_X509 => {
                    use sha2::Digest as _;
                    let subject = cert::subject(&e.data).unwrap_or_else(|e| format!("({e})"));
                    let fp = hex::encode(sha2::Sha256::digest(&e.data));
                    format!("subject {subject}, sha256 {fp}")
                }
                _ => hex::encode(&e.data),
            };
            writeln!(out, "  owner {}  {what}", e.owner)?;
        }
    }
    Ok(())
}
