//! The last checkpoint this client saw of each log, as Tessera's `LogStateTracker` keeps it:
//! every new checkpoint must be consistent with it, so a registry cannot show one user a
//! history it rewrote, or hide entries it showed before.

use std::path::{Path, PathBuf};

use cairn_tlog::{Checkpoint, NoteVerifier};

use crate::error::{Error, Refusal};

/// Saved checkpoints, one file per log (named by the log key's id) under a directory.
#[derive(Clone, Debug)]
pub struct LogState {
    dir: PathBuf,
}

/// A saved checkpoint, verified again when read.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// The signed note, as served.
    pub text: String,
}

impl LogState {
    /// Checkpoints kept under `dir` (created on first save).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        LogState { dir: dir.into() }
    }

    fn file(&self, log: &NoteVerifier) -> PathBuf {
        self.dir.join(format!("{:08x}", log.id()))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The last checkpoint of `log` this client saw, if any. A saved file that no longer
    /// verifies is an error, never silently forgotten: forgetting would accept any fork.
    pub fn seen(&self, log: &NoteVerifier) -> Result<Option<Seen>, Error> {
        let file = self.file(log);
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(format!("reading {}", file.display()))(e)),
        };
        let checkpoint =
            cairn_tlog::verify::open_checkpoint(text.as_bytes(), log).map_err(|e| {
                Refusal::Log(format!(
                    "the checkpoint this client saved at {} does not verify: {e}",
                    file.display()
                ))
            })?;
        Ok(Some(Seen { checkpoint, text }))
    }

    /// Records `text` (a checkpoint of `size` entries already proven consistent with what
    /// was seen) unless a larger one was saved meanwhile; written atomically.
    pub fn save(&self, log: &NoteVerifier, text: &str, size: u64) -> Result<(), Error> {
        if self
            .seen(log)
            .ok()
            .flatten()
            .is_some_and(|s| s.checkpoint.size > size)
        {
            return Ok(());
        }
        let file = self.file(log);
        std::fs::create_dir_all(&self.dir)
            .map_err(Error::io(format!("creating {}", self.dir.display())))?;
        let tmp = tempfile::NamedTempFile::new_in(&self.dir).map_err(Error::io(format!(
            "creating a file in {}",
            self.dir.display()
        )))?;
        std::fs::write(tmp.path(), text)
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(Error::io(format!(
                "saving the checkpoint to {}",
                file.display()
            )))?;
        tmp.persist(&file).map_err(|e| {
            Error::io(format!("saving the checkpoint to {}", file.display()))(e.error)
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint(signer: &cairn_tlog::NoteSigner, size: u64) -> String {
        let cp = Checkpoint {
            origin: "example.org/log".into(),
            size,
            root: [size as u8; 32],
            extensions: vec![],
        };
        signer.sign(&cp.to_text()).unwrap()
    }

    #[test]
    fn keeps_the_largest_checkpoint_and_refuses_a_damaged_one() {
        let dir = tempfile::tempdir().unwrap();
        let state = LogState::new(dir.path().join("checkpoints"));
        let signer = cairn_tlog::NoteSigner::from_seed("example.org/log", &[3; 32]).unwrap();
        let log = signer.verifier();
        assert!(state.seen(&log).unwrap().is_none());
        state.save(&log, &checkpoint(&signer, 5), 5).unwrap();
        // A smaller one (a second pull that raced the first) never replaces it.
        state.save(&log, &checkpoint(&signer, 3), 3).unwrap();
        assert_eq!(state.seen(&log).unwrap().unwrap().checkpoint.size, 5);
        state.save(&log, &checkpoint(&signer, 8), 8).unwrap();
        assert_eq!(state.seen(&log).unwrap().unwrap().checkpoint.size, 8);
        // Another log's state is its own.
        let other = cairn_tlog::NoteSigner::from_seed("example.org/log", &[4; 32]).unwrap();
        assert!(state.seen(&other.verifier()).unwrap().is_none());
        // A saved checkpoint that no longer verifies is an error, never forgotten.
        let file = std::fs::read_dir(state.dir())
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        std::fs::write(file.path(), "garbage\n").unwrap();
        let err = state.seen(&log).unwrap_err().to_string();
        assert!(err.contains("does not verify"), "{err}");
    }
}
