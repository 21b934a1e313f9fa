//! `cairn attest add|get`: an attestation submitted and proven, or found and proven to be
//! exactly this document, byte for byte (Rekor's `get --linkfile`: "should your file be
//! returned in full, good news, it matches").

use cairn_api::LogEntry;
use cairn_tlog::{Checkpoint, NoteVerifier};
use sha2::{Digest as _, Sha256};

use crate::client::Client;
use crate::error::{Error, Refusal};
use crate::proof::prove;
use crate::state::LogState;

/// An attestation proven to be logged.
#[derive(Clone, Debug)]
pub struct ProvenAttestation {
    /// Index of its entry.
    pub index: u64,
    /// SHA-256 of the document, hex.
    pub digest: String,
    /// The entry (`attestation`), as logged.
    pub entry: LogEntry,
    /// The checkpoint its inclusion was proven against.
    pub checkpoint: Checkpoint,
    /// Whether this submission logged it (false: it was logged before).
    pub added: bool,
}

/// Submits `document` and proves the entry the registry names for it.
pub async fn add(
    client: &Client,
    document: Vec<u8>,
    log: &NoteVerifier,
    state: &LogState,
) -> Result<ProvenAttestation, Error> {
    let digest = hex::encode(Sha256::digest(&document));
    let answer = client.attest(document.clone()).await?;
    if !answer.digest.eq_ignore_ascii_case(&digest) {
        return Err(Refusal::Log(format!(
            "the registry logged a document of digest {}, not this one ({digest})",
            answer.digest
        ))
        .into());
    }
    let mut proven = get(client, &document, log, state).await?;
    if proven.index != answer.index {
        return Err(Refusal::Log(format!(
            "the registry answered index {} for the submission, but its entry is {}",
            answer.index, proven.index
        ))
        .into());
    }
    proven.added = answer.outcome == cairn_api::UploadOutcome::Added;
    Ok(proven)
}

/// Finds the entry of exactly `document`, proves it, and checks the stored document is
/// byte-identical.
pub async fn get(
    client: &Client,
    document: &[u8],
    log: &NoteVerifier,
    state: &LogState,
) -> Result<ProvenAttestation, Error> {
    let digest = hex::encode(Sha256::digest(document));
    let answer = match client.attestation_entry(&digest).await {
        Err(Error::Status { status, .. }) if status == reqwest::StatusCode::NOT_FOUND => {
            return Err(Refusal::NotPublished(format!(
                "no attestation with digest {digest} (this document) is in the log"
            ))
            .into());
        }
        other => other?,
    };
    let proven = prove(client, &answer, log, state).await?;
    match &proven.entry {
        LogEntry::Attestation { digest: d, .. } if d.eq_ignore_ascii_case(&digest) => {}
        _ => {
            return Err(Refusal::Entry {
                index: proven.index,
                what: format!("is not the attestation of {digest}"),
            }
            .into());
        }
    }
    let stored = client.attestation(&digest).await?;
    if stored != document {
        return Err(Refusal::Log(format!(
            "the registry stores another document ({} bytes, digest {}) under {digest}",
            stored.len(),
            hex::encode(Sha256::digest(&stored))
        ))
        .into());
    }
    Ok(ProvenAttestation {
        index: proven.index,
        digest,
        entry: proven.entry,
        checkpoint: proven.checkpoint,
        added: false,
    })
}
