//! Proving a submitted scan in the registry's log: the checkpoint signed by the pinned log
//! key, the entry included in it, and the entry being this scan. The report the agent acts
//! on is the one in that entry, never one the registry merely says.

use base64::Engine as _;
use cairn_api::{EntryProof, LogEntry, ScanReport};
use cairn_tlog::NoteVerifier;

/// A scan proven logged.
#[derive(Debug)]
pub struct Logged {
    /// Its log index.
    pub index: u64,
    /// The registry's report, as logged.
    pub report: Option<ScanReport>,
}

/// Why a proof does not stand.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    /// The checkpoint is not signed by the log key.
    #[error("the checkpoint does not verify under the log key: {0}")]
    Checkpoint(String),
    /// The entry is not in the checkpoint's tree.
    #[error("the entry is not in the log: {0}")]
    Inclusion(String),
    /// The entry is another one.
    #[error("log entry {index} is not the scan {digest}")]
    NotThisScan {
        /// The entry's index.
        index: u64,
        /// The scan submitted.
        digest: String,
    },
}

/// Proves `answer` is the entry of scan `digest`, in the log of `log`.
pub fn prove(answer: &EntryProof, log: &NoteVerifier, digest: &str) -> Result<Logged, ProofError> {
    let checkpoint = cairn_tlog::verify::open_checkpoint(answer.checkpoint.as_bytes(), log)
        .map_err(|e| ProofError::Checkpoint(e.to_string()))?;
    let leaf = cairn_tlog::merkle::leaf_hash(&cairn_tlog::entry::canonical(&answer.entry));
    let mut proof = Vec::with_capacity(answer.proof.len());
    for h in &answer.proof {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(h)
            .map_err(|_| ProofError::Inclusion(format!("hash {h:?} is not base64")))?;
        proof.push(
            cairn_tlog::Hash::try_from(raw.as_slice())
                .map_err(|_| ProofError::Inclusion(format!("hash {h:?} is not 32 bytes")))?,
        );
    }
    cairn_tlog::merkle::verify_inclusion(
        answer.index,
        checkpoint.size,
        &leaf,
        &proof,
        &checkpoint.root,
    )
    .map_err(|e| ProofError::Inclusion(e.to_string()))?;
    let not_this = || ProofError::NotThisScan {
        index: answer.index,
        digest: digest.to_owned(),
    };
    match serde_json::from_value::<LogEntry>(answer.entry.clone()) {
        Ok(LogEntry::Scan { scan, report, .. }) if scan.digest == digest => Ok(Logged {
            index: answer.index,
            report,
        }),
        _ => Err(not_this()),
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use cairn_tlog::{Checkpoint, MemoryTree, NoteSigner};
    use serde_json::json;

    use super::*;

    /// A two-entry log holding `entries`, and the proof answer for entry 1.
    fn answer(signer: &NoteSigner, entries: &[serde_json::Value]) -> EntryProof {
        let mut tree = MemoryTree::default();
        for e in entries {
            tree.push(cairn_tlog::merkle::leaf_hash(
                &cairn_tlog::entry::canonical(e),
            ));
        }
        let checkpoint = Checkpoint {
            origin: "test.log".into(),
            size: tree.size(),
            root: tree.root(),
            extensions: vec![],
        };
        let proof = cairn_tlog::merkle::inclusion_proof(&tree, 1, tree.size()).unwrap();
        EntryProof {
            index: 1,
            entry: entries[1].clone(),
            proof: proof
                .iter()
                .map(|h| base64::engine::general_purpose::STANDARD.encode(h))
                .collect(),
            checkpoint: signer.sign(&checkpoint.to_text()).unwrap(),
            log: None,
        }
    }

    fn scan_entry(digest: &str, setuid: u64) -> serde_json::Value {
        json!({"kind": "scan", "created_ns": 1, "scan": {
            "digest": digest, "host": "web1", "roots": ["/"], "entries": 3, "errors": 0,
            "started": "s", "finished": "f", "size": 9, "signature": "00", "key_id": null,
            "created_at": "2026-12-02T00:00:00"},
            "report": {"baseline": {"against": "b", "anomalies": {"setuid": setuid},
            "added": 1, "removed": 0, "changed": 0, "findings": []}}})
    }

    #[test]
    fn the_report_believed_is_the_logged_one_under_the_pinned_key() {
        let signer = NoteSigner::from_seed("test.log", &[1; 32]).unwrap();
        let entries = [
            json!({"kind": "delete", "digest": "x", "deleted_ns": 0}),
            scan_entry("aa", 1),
        ];
        let good = answer(&signer, &entries);
        let logged = prove(&good, &signer.verifier(), "aa").unwrap();
        assert_eq!(logged.index, 1);
        assert_eq!(logged.report.unwrap().anomalies(), 1);

        // Another scan's entry, a lying report, another log's key: refused.
        assert!(matches!(
            prove(&good, &signer.verifier(), "bb"),
            Err(ProofError::NotThisScan { .. })
        ));
        let mut lying = good.clone();
        lying.entry = scan_entry("aa", 0);
        assert!(matches!(
            prove(&lying, &signer.verifier(), "aa"),
            Err(ProofError::Inclusion(_))
        ));
        let other = NoteSigner::from_seed("test.log", &[2; 32]).unwrap();
        assert!(matches!(
            prove(&good, &other.verifier(), "aa"),
            Err(ProofError::Checkpoint(_))
        ));
    }
}
