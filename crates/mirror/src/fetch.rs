//! The miss path: an artifact fetched from the upstream and kept only once everything
//! about it verifies, in the order a client checks it (`cairn_client::pull`):
//! 1. the upstream's proof answer: its checkpoint signed by the upstream log key, the
//!    entry included in it by the proof given;
//! 2. that checkpoint taken into the mirror's verified tree (so it extends every
//!    checkpoint the mirror saw), and the entry's leaf the one that tree holds;
//! 3. the bytes, streamed to a staging file: their SHA-256 is the digest asked for, and
//!    they hold exactly the plugins the entry records;
//! 4. the upstream's metadata and signature agree with the entry;
//! 5. the upstream trust policy, if given, allows the logged signature over these bytes.

use std::sync::Arc;

use cairn_api::{EntryProof, LogEntry, PluginMetadata};
use cairn_client::{Proven, Refusal};
use cairn_sign::policy::Policy;
use cairn_tlog::merkle::leaf_hash;

use crate::error::{Error, Lie};
use crate::store::{Record, Store};
use crate::upstream::Upstream;
use crate::upstream_log::UpstreamLog;

/// What the miss path works with.
pub(crate) struct Fetch<'a> {
    pub(crate) up: &'a Upstream,
    pub(crate) log: &'a UpstreamLog,
    pub(crate) store: &'a Store,
    pub(crate) policy: Option<&'a Policy>,
}

/// Which metric a client refusal counts under.
fn lie_of(r: &Refusal) -> Lie {
    match r {
        Refusal::Digest { .. } | Refusal::NotAPlugin { .. } => Lie::Bytes,
        Refusal::Policy { .. } => Lie::Signature,
        Refusal::Metadata { field, .. } if field == "signature" => Lie::Signature,
        Refusal::Metadata { .. } => Lie::Metadata,
        Refusal::Entry { what, .. } if what.contains("signature") => Lie::Signature,
        _ => Lie::Entry,
    }
}

impl Fetch<'_> {
    fn refused(&self, digest: &str, lie: Lie, reason: impl Into<String>) -> Error {
        self.up
            .refused(lie, format!("artifact {digest}"), reason.into())
    }

    fn refusal(&self, digest: &str, e: cairn_client::Error) -> Error {
        match e {
            cairn_client::Error::Refused(r) => self.refused(digest, lie_of(&r), r.to_string()),
            e => self.up.failed(&format!("artifact {digest}"), e),
        }
    }

    /// Fetches, verifies and keeps `digest`.
    pub(crate) async fn artifact(&self, digest: &str) -> Result<Arc<Record>, Error> {
        let what = format!("artifact {digest}");
        let c = self.up.client();
        let answer = c
            .proof(digest)
            .await
            .map_err(|e| self.up.failed(&what, e))?;
        let proven = self.prove(digest, &answer).await?;
        let claimed: PluginMetadata = c
            .metadata(digest)
            .await
            .map_err(|e| self.refusal(digest, e))?;
        let staged = self.store.stage()?;
        let mut out = tokio::fs::File::from_std(
            staged
                .reopen()
                .map_err(Error::io("opening the staging file"))?,
        );
        let got = c
            .download_to(digest, &mut out, &())
            .await
            .map_err(|e| self.up.failed(&what, e))?;
        drop(out);
        if hex::encode(got.sha256) != digest {
            return Err(self.refused(
                digest,
                Lie::Bytes,
                format!("the bytes served hash to {}", hex::encode(got.sha256)),
            ));
        }
        let path = staged.path().to_owned();
        let descriptors = tokio::task::spawn_blocking(move || analyze(&path))
            .await
            .map_err(|e| Error::Damaged(e.to_string()))?
            .map_err(|e| self.refused(digest, Lie::Bytes, e))?;
        let meta = cairn_client::pull::check_entry(
            &proven,
            digest,
            &claimed.signature,
            got.size,
            &descriptors,
        )
        .map_err(|r| self.refused(digest, lie_of(&r), r.to_string()))?;
        cairn_client::pull::check_metadata(&claimed, &meta)
            .map_err(|r| self.refused(digest, lie_of(&r), r.to_string()))?;
        if let Some(policy) = self.policy {
            cairn_client::pull::check_policy(policy, &meta, &descriptors, staged.path())
                .map_err(|e| self.refusal(digest, e))?;
        }
        let record = Record {
            index: proven.index,
            entry: answer.entry,
            metadata: meta,
        };
        self.store.commit(digest, staged, record)
    }

    /// The upstream's proof answer, checked as given and then against the verified tree.
    async fn prove(&self, digest: &str, answer: &EntryProof) -> Result<Proven, Error> {
        let checkpoint =
            cairn_tlog::verify::open_checkpoint(answer.checkpoint.as_bytes(), self.log.key())
                .map_err(|e| {
                    self.up.refused(
                        Lie::Checkpoint,
                        format!("the checkpoint proving {digest}"),
                        e.to_string(),
                    )
                })?;
        let leaf = leaf_hash(&cairn_tlog::entry::canonical(&answer.entry));
        let hashes = cairn_client::decode_proof_hashes(&answer.proof)
            .map_err(|e| self.refused(digest, Lie::Proof, e))?;
        cairn_tlog::merkle::verify_inclusion(
            answer.index,
            checkpoint.size,
            &leaf,
            &hashes,
            &checkpoint.root,
        )
        .map_err(|e| {
            self.refused(
                digest,
                Lie::Proof,
                format!(
                    "the inclusion proof of entry {} in the checkpoint of {} entries does not verify: {e}",
                    answer.index, checkpoint.size
                ),
            )
        })?;
        self.log.observe(self.up, &answer.checkpoint).await?;
        if self.log.leaf(answer.index) != Some(leaf) {
            return Err(self.refused(
                digest,
                Lie::Proof,
                format!(
                    "entry {} is not the one the verified log holds",
                    answer.index
                ),
            ));
        }
        let entry: LogEntry = serde_json::from_value(answer.entry.clone()).map_err(|e| {
            self.refused(
                digest,
                Lie::Entry,
                format!("the entry is no registry entry: {e}"),
            )
        })?;
        Ok(Proven {
            index: answer.index,
            entry,
            checkpoint,
        })
    }
}

/// The plugins in a staged file, read over a memory map (the mirror alone writes it).
fn analyze(path: &std::path::Path) -> Result<Vec<cairn_api::Descriptor>, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let map = cairn_mmap::map(&file).map_err(|e| e.to_string())?;
    cairn_plugin::analyze(&map).map_err(|e| format!("the bytes are not a plugin: {e}"))
}
