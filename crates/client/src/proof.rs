//! Proving a log entry: the checkpoint's signature against the pinned log key, the entry's
//! inclusion in it, and the checkpoint's consistency with the last one this client saw.

use base64::Engine as _;
use cairn_api::{EntryProof, LogEntry};
use cairn_tlog::{Checkpoint, Hash, NoteVerifier};

use crate::client::Client;
use crate::error::{Error, Refusal};
use crate::state::LogState;

/// A log entry proven to be in a log whose checkpoint is consistent with what this client saw.
#[derive(Clone, Debug)]
pub struct Proven {
    /// Its index.
    pub index: u64,
    /// The entry.
    pub entry: LogEntry,
    /// The checkpoint it was proven against.
    pub checkpoint: Checkpoint,
}

/// Decodes base64 proof hashes (as `/…/proof` answers carry them).
pub fn hashes(proof: &[String]) -> Result<Vec<Hash>, String> {
    proof
        .iter()
        .map(|h| {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(h)
                .map_err(|_| format!("proof hash {h:?} is not base64"))?;
            Hash::try_from(raw.as_slice()).map_err(|_| format!("proof hash {h:?} is not 32 bytes"))
        })
        .collect()
}

/// Where a registry routes its log unless a proof answer says otherwise.
pub const DEFAULT_LOG_ROUTES: &str = "/log";

/// The log routes a proof answer names, checked to be a plain path on the same server: the
/// answer only says where to ask, but a hostile one must not make the client ask
/// elsewhere or send a path it did not mean to.
pub fn log_routes(answer: &EntryProof) -> Result<&str, Refusal> {
    let Some(routes) = answer.log.as_deref() else {
        return Ok(DEFAULT_LOG_ROUTES);
    };
    let plain = routes.len() <= 64
        && routes.starts_with('/')
        && !routes.ends_with('/')
        && routes.split('/').skip(1).all(|seg| {
            !seg.is_empty()
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if plain {
        Ok(routes)
    } else {
        Err(Refusal::Log(format!(
            "the registry names its log routes {routes:?}, which is no plain path on this server"
        )))
    }
}

/// Proves `answer` (a `/files/{d}/proof` or `/scans/{d}/proof` answer) against the log key
/// `log`, and records its checkpoint in `state` once it is proven consistent.
pub async fn prove(
    client: &Client,
    answer: &EntryProof,
    log: &NoteVerifier,
    state: &LogState,
) -> Result<Proven, Error> {
    let checkpoint = cairn_tlog::verify::open_checkpoint(answer.checkpoint.as_bytes(), log)
        .map_err(|e| Refusal::Log(format!("checkpoint signature: {e}")))?;
    let leaf = cairn_tlog::merkle::leaf_hash(&cairn_tlog::entry::canonical(&answer.entry));
    let proof = hashes(&answer.proof).map_err(|e| Refusal::Log(format!("inclusion proof: {e}")))?;
    cairn_tlog::merkle::verify_inclusion(
        answer.index,
        checkpoint.size,
        &leaf,
        &proof,
        &checkpoint.root,
    )
    .map_err(|e| {
        Refusal::Log(format!(
            "inclusion proof: the entry the registry gives as index {} is not in its checkpoint of {} entries: {e}",
            answer.index, checkpoint.size
        ))
    })?;
    let routes = log_routes(answer)?;
    consistent(client, routes, log, state, &checkpoint, &answer.checkpoint).await?;
    state.save(log, &answer.checkpoint, checkpoint.size)?;
    let entry = serde_json::from_value(answer.entry.clone()).map_err(|e| Refusal::Entry {
        index: answer.index,
        what: format!("is no registry entry: {e}"),
    })?;
    Ok(Proven {
        index: answer.index,
        entry,
        checkpoint,
    })
}

/// Checks `new` against the last checkpoint this client saw of the log.
/// `routes` is where the log is routed on the registry (see [`log_routes`]).
pub(crate) async fn consistent(
    client: &Client,
    routes: &str,
    log: &NoteVerifier,
    state: &LogState,
    new: &Checkpoint,
    new_text: &str,
) -> Result<(), Error> {
    let Some(seen) = state.seen(log)? else {
        return Ok(());
    };
    let old = &seen.checkpoint;
    if old.size > new.size {
        return Err(Refusal::Stale {
            seen: old.size,
            served: new.size,
        }
        .into());
    }
    if old.size == new.size {
        if old.root != new.root {
            return Err(Refusal::Fork(format!(
                "two checkpoints of {} entries with different roots, both signed by the log key:\n{}\n{}",
                new.size,
                seen.text.trim_end(),
                new_text.trim_end()
            ))
            .into());
        }
        return Ok(());
    }
    if old.size == 0 {
        return Ok(());
    }
    let proof = client
        .consistency_at(routes, old.size, new.size)
        .await
        .map_err(|e| {
            Refusal::Fork(format!(
                "no consistency proof from the {} entries this client saw to the {} served: {e}",
                old.size, new.size
            ))
        })?;
    cairn_tlog::merkle::verify_consistency(old.size, new.size, &old.root, &new.root, &proof)
        .map_err(|e| {
            Refusal::Fork(format!(
                "the checkpoint of {} entries does not extend the one of {} entries this client saw: {e}",
                new.size, old.size
            ))
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(log: Option<&str>) -> EntryProof {
        EntryProof {
            index: 0,
            entry: serde_json::Value::Null,
            proof: vec![],
            checkpoint: String::new(),
            log: log.map(str::to_owned),
        }
    }

    #[test]
    fn log_routes_are_plain_paths_on_the_same_server() {
        assert_eq!(log_routes(&answer(None)).unwrap(), "/log");
        assert_eq!(
            log_routes(&answer(Some("/local/log"))).unwrap(),
            "/local/log"
        );
        for hostile in [
            "//evil.example/log",
            "http://evil.example/log",
            "/log/../files",
            "/log?from=0",
            "/log/",
            "log",
            "",
            "/lo g",
            "/log#x",
            "/%2e%2e",
        ] {
            let err = log_routes(&answer(Some(hostile))).unwrap_err().to_string();
            assert!(err.contains("no plain path"), "{hostile}: {err}");
        }
        assert!(log_routes(&answer(Some(&format!("/{}", "a".repeat(64))))).is_err());
    }
}
