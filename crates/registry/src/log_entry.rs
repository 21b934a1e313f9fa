//! What the registry writes to the transparency log, and how it replays it.
//!
//! An `artifact` entry carries everything the index needs (digest, size, signature, key id,
//! upload time, every descriptor), so the index can be rebuilt from the log alone; a
//! `delete` entry names the digest removed. Entries are canonical JSON (RFC 8785).

pub use cairn_api::LogEntry;

use crate::digest::Digest;
use crate::error::Error;
use crate::model::NewArtifact;

/// How the registry writes and reads its [`LogEntry`] values (the type itself is a wire type,
/// defined in `cairn-api`).
pub trait EntryCodec: Sized {
    /// The entry for a new artifact.
    fn artifact(a: &NewArtifact) -> Self;
    /// Canonical bytes, as logged.
    fn to_bytes(&self) -> Vec<u8>;
    /// Parses a logged entry; `None` for bytes that are no registry entry.
    fn parse(bytes: &[u8]) -> Option<Self>;
    /// The artifact to index for an `artifact` entry at `index`.
    fn to_artifact(&self, index: u64) -> Result<Option<NewArtifact>, Error>;
}

impl EntryCodec for LogEntry {
    fn artifact(a: &NewArtifact) -> Self {
        LogEntry::Artifact {
            digest: a.digest.to_hex(),
            size: a.size,
            signature: a.signature.clone(),
            key_id: a.key_id.clone(),
            created_ns: a.created_ns,
            descriptors: a.descriptors.clone(),
        }
    }

    fn to_bytes(&self) -> Vec<u8> {
        let value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        cairn_tlog::entry::canonical(&value)
    }

    fn parse(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }

    fn to_artifact(&self, index: u64) -> Result<Option<NewArtifact>, Error> {
        let LogEntry::Artifact {
            digest,
            size,
            signature,
            key_id,
            created_ns,
            descriptors,
        } = self
        else {
            return Ok(None);
        };
        let digest = Digest::parse(digest)
            .ok_or_else(|| Error::Corrupt(format!("log entry {index}: bad digest")))?;
        Ok(Some(NewArtifact {
            digest,
            size: *size,
            signature: signature.clone(),
            key_id: key_id.clone(),
            created_ns: *created_ns,
            descriptors: descriptors.clone(),
            log_index: Some(index),
        }))
    }
}

/// Entries the persisted replay point may lag behind: replay is idempotent, so persisting
/// it on every entry would only cost an fsync per entry.
pub(crate) const PERSIST_EVERY: u64 = 256;

/// Log indices applied to the index out of order; persisted only as a contiguous prefix.
#[derive(Debug, Default)]
pub(crate) struct Watermark {
    next: u64,
    persisted: u64,
    done: std::collections::BTreeSet<u64>,
}

impl Watermark {
    pub(crate) fn starting_at(next: u64) -> Self {
        Watermark {
            next,
            persisted: next,
            done: Default::default(),
        }
    }

    /// Marks `index` applied; returns the contiguous prefix when it is time to persist it.
    pub(crate) fn applied(&mut self, index: u64) -> Option<u64> {
        if index < self.next {
            return None;
        }
        self.done.insert(index);
        while self.done.remove(&self.next) {
            self.next += 1;
        }
        if self.next >= self.persisted + PERSIST_EVERY {
            self.persisted = self.next;
            return Some(self.next);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watermark_advances_only_over_a_contiguous_prefix() {
        let mut w = Watermark::starting_at(5);
        // Out of order: nothing is persisted until every earlier index is applied.
        for i in (6..5 + PERSIST_EVERY).rev() {
            assert_eq!(w.applied(i), None);
        }
        assert_eq!(w.applied(5), Some(5 + PERSIST_EVERY));
        assert_eq!(w.applied(3), None);
        assert_eq!(
            w.applied(5 + PERSIST_EVERY),
            None,
            "persisted again only 256 later"
        );
    }

    #[test]
    fn entries_are_canonical_and_round_trip() {
        let e = LogEntry::Delete {
            digest: "ab".into(),
            deleted_ns: 3,
        };
        assert_eq!(
            String::from_utf8(e.to_bytes()).unwrap(),
            r#"{"deleted_ns":3,"digest":"ab","kind":"delete"}"#
        );
        assert_eq!(LogEntry::parse(&e.to_bytes()), Some(e));
        assert_eq!(LogEntry::parse(b"{\"kind\":\"other\"}"), None);
    }

    /// The wire form of the Secure Boot entries is pinned: a fleet's verifiers hash it.
    #[test]
    fn efi_entries_are_canonical_and_round_trip() {
        let image = LogEntry::EfiImage {
            digest: "aa".into(),
            size: 2,
            authenticode: "bb".into(),
            signers: vec!["cc".into(), "dd".into()],
            created_ns: 3,
        };
        assert_eq!(
            String::from_utf8(image.to_bytes()).unwrap(),
            r#"{"authenticode":"bb","created_ns":3,"digest":"aa","kind":"efi_image","signers":["cc","dd"],"size":2}"#
        );
        let vars = LogEntry::EfiVars {
            digest: "aa".into(),
            size: 2,
            variable: "db".into(),
            append: true,
            time: "2024-01-01 00:00:00".into(),
            list_digest: "bb".into(),
            signer: "cc".into(),
            created_ns: 3,
        };
        assert_eq!(
            String::from_utf8(vars.to_bytes()).unwrap(),
            r#"{"append":true,"created_ns":3,"digest":"aa","kind":"efi_vars","list_digest":"bb","signer":"cc","size":2,"time":"2024-01-01 00:00:00","variable":"db"}"#
        );
        for e in [image, vars] {
            assert_eq!(LogEntry::parse(&e.to_bytes()), Some(e));
        }
    }
}
