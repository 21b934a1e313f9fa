//! Checks made while a registry opens, before anything is written: the log key is the one
//! the log is signed with, and the index reflects no entry the log lacks.

use std::sync::Arc;

use cairn_tlog::store::TileStore;

use crate::error::Error;
use crate::index::Index;

/// Reads one object of a blocking store (log tiles, attestations) off the reactor.
pub(crate) async fn read_blocking(
    store: Arc<dyn TileStore>,
    rel: String,
) -> Result<Option<Vec<u8>>, Error> {
    tokio::task::spawn_blocking(move || store.read(&rel))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map_err(Error::from)
}

/// Whether the log store holds any entry tile.
pub(crate) async fn has_tiles(store: Arc<dyn TileStore>) -> Result<bool, Error> {
    tokio::task::spawn_blocking(move || store.has_any("tile/entries"))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map_err(Error::from)
}

/// Who signed a stored checkpoint (`name+id`), for messages.
pub(crate) fn signer_of(checkpoint: &[u8]) -> String {
    cairn_tlog::Note::parse(checkpoint)
        .ok()
        .and_then(|n| {
            n.signatures()
                .first()
                .map(|s| format!("{}+{:08x}", s.name, s.id))
        })
        .unwrap_or_else(|| "an unknown key".into())
}

/// The stored log must be signed by the configured key: a changed key is named as such.
pub(crate) fn check_log_key(
    checkpoint: &[u8],
    signer: &cairn_tlog::NoteSigner,
    key_path: &std::path::Path,
) -> Result<(), Error> {
    let ok =
        cairn_tlog::Note::parse(checkpoint).is_ok_and(|n| n.verify(&[signer.verifier()]).is_ok());
    if ok {
        return Ok(());
    }
    Err(Error::Config(format!(
        "the log key changed: {} is {}, but the transparency log is signed by {}. Restore the \
         original key (a log has one key for life)",
        key_path.display(),
        signer.verifier(),
        signer_of(checkpoint)
    )))
}

/// The index must not reflect entries the log does not hold: that would mean the log lost
/// its checkpoint (or went back to an older one), and signing on would fork it.
pub(crate) async fn check_index_within_log(index: &Index, size: u64) -> Result<(), Error> {
    let applied = index.log_applied().await?;
    let highest = index.highest_log_index().await?;
    let needed = highest.map_or(applied, |h| applied.max(h + 1));
    if needed > size {
        return Err(Error::Config(format!(
            "the index reflects {needed} transparency-log entries, but the log holds {size}: the \
             log's checkpoint is missing or older than the index (restored from a backup?). \
             Restore the log directory from the same point as the index; if the log is right and \
             the index is not, `cairn admin reindex` rebuilds the index from the log"
        )));
    }
    Ok(())
}
