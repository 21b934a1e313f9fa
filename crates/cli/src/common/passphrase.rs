//! `--passphrase-file`: where a key's passphrase comes from (never the command line, where
//! `ps` shows it).

use std::path::PathBuf;

use anyhow::Context;
use cairn_secmem::LockedBuffer;

/// Longest passphrase read (one line).
const MAX_PASSPHRASE: usize = 1024;

/// Where a passphrase comes from.
#[derive(Debug, Clone, clap::Args)]
pub struct PassphraseArgs {
    /// Read the key's passphrase from the first line of this file (`-` for standard input).
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

impl PassphraseArgs {
    /// The passphrase, read into guarded memory.
    pub fn read(&self) -> anyhow::Result<Option<LockedBuffer>> {
        let Some(path) = &self.passphrase_file else {
            return Ok(None);
        };
        let buf = if path.as_os_str() == "-" {
            LockedBuffer::from_reader_until(&mut std::io::stdin().lock(), b'\n', MAX_PASSPHRASE)
        } else {
            let mut f = std::fs::File::open(path)
                .with_context(|| format!("reading the passphrase from {}", path.display()))?;
            LockedBuffer::from_reader_until(&mut f, b'\n', MAX_PASSPHRASE)
        };
        Ok(Some(buf.context("reading the passphrase")?))
    }
}
