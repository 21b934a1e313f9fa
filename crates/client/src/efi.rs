//! Proving that an EFI image was published: its `efi_image` log entry, proven in the log the
//! user pins (checkpoint signature, inclusion, consistency with what this client saw), must
//! record exactly this file (its SHA-256, size and Authenticode digest). The registry's word
//! alone proves nothing; an image nobody published is refused.

use cairn_api::LogEntry;
use cairn_tlog::{Checkpoint, NoteVerifier};

use crate::client::Client;
use crate::error::{Error, Refusal};
use crate::proof::prove;
use crate::state::LogState;

/// The local image, as the caller measured it.
#[derive(Clone, Copy, Debug)]
pub struct Image<'a> {
    /// SHA-256 of the file, hex (lowercase).
    pub digest: &'a str,
    /// Its size in bytes.
    pub size: u64,
    /// Its Authenticode digest, hex (lowercase).
    pub authenticode: &'a str,
}

/// An image proven published.
#[derive(Clone, Debug)]
pub struct Published {
    /// Its entry's index in the log.
    pub index: u64,
    /// SHA-256 of each signer certificate the entry names, hex, in signature order.
    pub signers: Vec<String>,
    /// The checkpoint it was proven against.
    pub checkpoint: Checkpoint,
}

/// Proves that `image` is published in the log `log` (consistent with what `state` saw).
pub async fn prove_image(
    client: &Client,
    image: Image<'_>,
    log: &NoteVerifier,
    state: &LogState,
) -> Result<Published, Error> {
    let answer = match client.efi_proof(image.digest).await {
        Ok(answer) => answer,
        Err(e) if e.status() == Some(reqwest::StatusCode::NOT_FOUND) => {
            return Err(Refusal::NotPublished(format!(
                "the registry has no log entry for EFI image {}",
                image.digest
            ))
            .into());
        }
        Err(e) => return Err(e),
    };
    let proven = prove(client, &answer, log, state).await?;
    let index = proven.index;
    let wrong = |what: String| Refusal::Entry { index, what };
    let LogEntry::EfiImage {
        digest,
        size,
        authenticode,
        signers,
        ..
    } = proven.entry
    else {
        return Err(wrong(format!(
            "is no EFI image publication, yet the registry gives it as the proof of {}",
            image.digest
        ))
        .into());
    };
    if digest != image.digest || size != image.size {
        return Err(wrong(format!(
            "records EFI image {digest} of {size} bytes, not this one ({}, {} bytes): the registry gave the proof of another file",
            image.digest, image.size
        ))
        .into());
    }
    if authenticode != image.authenticode {
        return Err(wrong(format!(
            "records Authenticode digest {authenticode}; the image's is {}",
            image.authenticode
        ))
        .into());
    }
    Ok(Published {
        index,
        signers,
        checkpoint: proven.checkpoint,
    })
}
