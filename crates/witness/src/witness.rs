//! [`Witness`]: the checks of C2SP tlog-witness `add-checkpoint`, in the spec's order.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use cairn_tlog::cosignature::{CosignatureVerifier, Cosigner};
use cairn_tlog::merkle::{empty_root, verify_consistency};
use cairn_tlog::witness::AddCheckpoint;
use cairn_tlog::{Checkpoint, Note, NoteVerifier};
use tokio::sync::Mutex;

use crate::config::WitnessConfig;
use crate::error::{Error, Refusal};
use crate::state::State;

/// A running witness: its key (sealed), the logs it trusts, its state.
#[derive(Debug)]
pub struct Witness {
    cosigner: Cosigner,
    logs: HashMap<String, NoteVerifier>,
    state: State,
    /// One check-and-commit at a time: requests are small, and it keeps the
    /// compare-and-swap from ever losing a race it did not need to.
    one: Mutex<()>,
    key_created: bool,
}

impl Witness {
    /// Opens the witness of `config`: reads (or creates) its key and database.
    pub async fn open(config: &WitnessConfig) -> Result<Self, Error> {
        let (seed, key_created) = cairn_tlog::keyfile::load_or_generate_seed(&config.key)?;
        let cosigner = Cosigner::from_secret(&config.name, seed)?;
        let mut logs = HashMap::new();
        for log in &config.logs {
            let key = NoteVerifier::parse(&log.key)?;
            logs.insert(log.origin.clone(), key);
        }
        let state = State::open(&config.database).await?;
        Ok(Witness {
            cosigner,
            logs,
            state,
            one: Mutex::new(()),
            key_created,
        })
    }

    /// The key clients pin to count this witness's cosignatures.
    pub fn verifier(&self) -> CosignatureVerifier {
        self.cosigner.verifier()
    }

    /// Whether the key was generated at open.
    pub fn key_created(&self) -> bool {
        self.key_created
    }

    /// The origins witnessed.
    pub fn origins(&self) -> impl Iterator<Item = &str> {
        self.logs.keys().map(String::as_str)
    }

    /// The size cosigned last of `origin` (0 before the first).
    pub async fn size(&self, origin: &str) -> Result<u64, Error> {
        Ok(self.state.latest(origin).await?.map_or(0, |(s, _)| s))
    }

    /// Checks an `add-checkpoint` body and, when it extends what was cosigned, commits the
    /// new size and returns the cosignature line.
    pub async fn add_checkpoint(&self, body: &[u8]) -> Result<String, Refusal> {
        let req = AddCheckpoint::parse(body).map_err(|e| Refusal::BadRequest(e.to_string()))?;
        let note = Note::parse(&req.checkpoint).map_err(|e| Refusal::BadRequest(e.to_string()))?;
        let cp = Checkpoint::parse(note.text()).map_err(|e| Refusal::BadRequest(e.to_string()))?;
        let key = self
            .logs
            .get(&cp.origin)
            .ok_or_else(|| Refusal::UnknownLog(cp.origin.clone()))?;
        note.verify(std::slice::from_ref(key))
            .map_err(|e| Refusal::Untrusted(e.to_string()))?;
        if req.old > cp.size {
            return Err(Refusal::BadRequest(format!(
                "old size {} is larger than the checkpoint's {}",
                req.old, cp.size
            )));
        }
        let state = |e: sqlx::Error| Refusal::State(e.to_string());
        let _one = self.one.lock().await;
        let latest = self.state.latest(&cp.origin).await.map_err(state)?;
        let (size, root) = latest.unwrap_or((0, empty_root()));
        if req.old != size {
            return Err(Refusal::Conflict { size });
        }
        if cp.size == 0 && cp.root != empty_root() {
            return Err(Refusal::Inconsistent(
                "a checkpoint of 0 entries without the empty tree's root".into(),
            ));
        }
        if req.old == 0 && !req.proof.is_empty() {
            return Err(Refusal::Inconsistent(
                "a consistency proof from size 0".into(),
            ));
        }
        verify_consistency(size, cp.size, &root, &cp.root, &req.proof).map_err(|e| {
            Refusal::Inconsistent(format!(
                "{} entries do not extend the {size} this witness cosigned: {e}",
                cp.size
            ))
        })?;
        let moved = self
            .state
            .advance(&cp.origin, latest.map(|(s, _)| s), cp.size, &cp.root)
            .await
            .map_err(state)?;
        if !moved {
            let size = self
                .size(&cp.origin)
                .await
                .map_err(|e| Refusal::State(e.to_string()))?;
            return Err(Refusal::Conflict { size });
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.cosigner
            .cosign(note.text(), now)
            .map_err(|e| Refusal::State(e.to_string()))
    }
}
