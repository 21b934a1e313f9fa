//! The writer and the auditor together: append, reopen, crash between steps, tamper, fork.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;

use cairn_tlog::merkle::{inclusion_proof, leaf_hash, verify_inclusion};
use cairn_tlog::{DirStore, LogWriter, NoteSigner, verify_log};

const SEED: [u8; 32] = [7; 32];

fn signer() -> NoteSigner {
    NoteSigner::from_seed("example.test/log", &SEED).unwrap()
}

fn entries(from: usize, n: usize, tag: &str) -> Vec<Vec<u8>> {
    (from..from + n)
        .map(|i| format!("{tag} entry {i}").into_bytes())
        .collect()
}

fn open(dir: &Path) -> LogWriter {
    LogWriter::open(DirStore::open(dir).unwrap(), signer()).unwrap()
}

#[test]
fn appends_survive_reopen_and_verify_across_tile_levels() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    assert_eq!(log.size(), 0);
    let key = signer().verifier();
    verify_log(&DirStore::open(dir.path()).unwrap(), &key, None).unwrap();
    let first = log.append(&entries(0, 3, "a")).unwrap();
    assert_eq!(first.first_index, 0);
    let early = first.checkpoint.clone();
    let mut total = 3;
    // Batches of uneven sizes up to 70,000 entries: level-0, level-1 and level-2 tiles.
    for (i, n) in [1usize, 252, 256, 1000, 5, 68_483].into_iter().enumerate() {
        let c = log.append(&entries(total, n, "a")).unwrap();
        assert_eq!(c.first_index, total as u64, "batch {i}");
        total += n;
    }
    assert_eq!(log.size(), 70_000);
    assert!(dir.path().join("tile/2/000.p/1").exists());
    assert!(dir.path().join("tile/0/273.p/112").exists());
    let root = log.tree().root();
    drop(log);

    let mut log = open(dir.path());
    assert_eq!((log.size(), log.tree().root()), (70_000, root));
    log.append(&entries(70_000, 10, "a")).unwrap();
    let store = DirStore::open(dir.path()).unwrap();
    let v = verify_log(&store, &key, Some(early.as_bytes())).unwrap();
    assert_eq!(v.size, 70_010);
    // Proofs from the reloaded tree verify against the published root.
    let proof = inclusion_proof(&*log.tree(), 12_345, 70_010).unwrap();
    verify_inclusion(
        12_345,
        70_010,
        &leaf_hash(b"a entry 12345"),
        &proof,
        &v.root,
    )
    .unwrap();
}

/// A crash after the tiles of a batch were written but before its checkpoint: the batch
/// never happened, and later batches overwrite its tiles.
#[test]
fn a_batch_without_its_checkpoint_is_discarded() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    log.append(&entries(0, 300, "a")).unwrap();
    let before = log.checkpoint().to_owned();
    log.write_unpublished(&entries(300, 400, "lost")).unwrap();
    drop(log);
    let mut log = open(dir.path());
    assert_eq!(log.size(), 300);
    assert_eq!(log.checkpoint(), before);
    log.append(&entries(300, 400, "kept")).unwrap();
    let store = DirStore::open(dir.path()).unwrap();
    verify_log(&store, &signer().verifier(), Some(before.as_bytes())).unwrap();
    let bundle = std::fs::read(dir.path().join("tile/entries/001")).unwrap();
    assert!(String::from_utf8_lossy(&bundle).contains("kept entry 300"));
    assert!(!String::from_utf8_lossy(&bundle).contains("lost"));
}

/// Flipping any byte of any tile, bundle or the checkpoint makes the audit fail.
#[test]
fn tampering_with_any_object_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    log.append(&entries(0, 600, "t")).unwrap();
    let key = signer().verifier();
    let store = DirStore::open(dir.path()).unwrap();
    verify_log(&store, &key, None).unwrap();
    let mut files = Vec::new();
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p)
            } else {
                files.push(p)
            }
        }
    }
    assert!(files.len() >= 6, "{files:?}");
    for file in files {
        let original = std::fs::read(&file).unwrap();
        for at in [0, original.len() / 2, original.len() - 1] {
            let mut bad = original.clone();
            bad[at] ^= 0x01;
            std::fs::write(&file, &bad).unwrap();
            assert!(
                verify_log(&store, &key, None).is_err(),
                "{} byte {at}",
                file.display()
            );
        }
        std::fs::write(&file, &original).unwrap();
        std::fs::remove_file(&file).unwrap();
        assert!(
            verify_log(&store, &key, None).is_err(),
            "{} missing",
            file.display()
        );
        std::fs::write(&file, &original).unwrap();
    }
    verify_log(&store, &key, None).unwrap();
}

/// A log that rewrote history under the same key is caught by an earlier checkpoint.
#[test]
fn a_forked_log_fails_consistency() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut honest = open(a.path());
    let seen = honest.append(&entries(0, 50, "x")).unwrap().checkpoint;
    let mut fork = open(b.path());
    fork.append(&entries(0, 50, "y")).unwrap();
    fork.append(&entries(50, 10, "y")).unwrap();
    let key = signer().verifier();
    let err = verify_log(
        &DirStore::open(b.path()).unwrap(),
        &key,
        Some(seen.as_bytes()),
    )
    .unwrap_err();
    assert!(err.to_string().contains("INCONSISTENT"), "{err}");
    // The wrong key is refused outright.
    let other = NoteSigner::from_seed("example.test/log", &[8; 32])
        .unwrap()
        .verifier();
    assert!(verify_log(&DirStore::open(a.path()).unwrap(), &other, None).is_err());
    assert!(
        LogWriter::open(
            DirStore::open(a.path()).unwrap(),
            NoteSigner::from_seed("example.test/log", &[8; 32]).unwrap()
        )
        .is_err()
    );
}

#[test]
fn oversize_entries_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    assert!(log.append(&[vec![0u8; 65_536]]).is_err());
    assert_eq!(log.size(), 0);
    log.append(&[vec![0u8; 65_535]]).unwrap();
    verify_log(
        &DirStore::open(dir.path()).unwrap(),
        &signer().verifier(),
        None,
    )
    .unwrap();
}

/// A store whose `checkpoint` writes fail while `fail` is set (a full disk, an S3 outage).
#[derive(Debug)]
struct Flaky {
    inner: DirStore,
    fail: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl cairn_tlog::store::TileStore for Flaky {
    fn has_any(&self, prefix: &str) -> std::io::Result<bool> {
        self.inner.has_any(prefix)
    }

    fn read(&self, rel: &str) -> std::io::Result<Option<Vec<u8>>> {
        self.inner.read(rel)
    }

    fn write(&self, rel: &str, bytes: &[u8]) -> std::io::Result<()> {
        if rel == "checkpoint" && self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(std::io::Error::other("injected failure"));
        }
        self.inner.write(rel, bytes)
    }
}

#[test]
fn a_batch_whose_checkpoint_failed_to_write_is_never_published() {
    let dir = tempfile::tempdir().unwrap();
    let fail = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let store = Flaky {
        inner: DirStore::open(dir.path()).unwrap(),
        fail: fail.clone(),
    };
    let mut log = LogWriter::open(store, signer()).unwrap();
    log.append(&entries(0, 3, "kept")).unwrap();
    fail.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(log.append(&entries(3, 2, "failed")).is_err());
    assert_eq!(log.size(), 3, "the failed batch is still in the tree");
    fail.store(false, std::sync::atomic::Ordering::SeqCst);
    let next = log.append(&entries(3, 1, "next")).unwrap();
    assert_eq!(next.first_index, 3, "the failed batch took indexes");
    assert_eq!(log.size(), 4);
    let key = signer().verifier();
    let audited = verify_log(&DirStore::open(dir.path()).unwrap(), &key, None).unwrap();
    assert_eq!(audited.size, 4);
}

#[test]
fn a_follower_takes_only_checkpoints_its_tiles_prove() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    let three = log.append(&entries(0, 3, "f")).unwrap().checkpoint;
    let store: std::sync::Arc<dyn cairn_tlog::store::TileStore> =
        std::sync::Arc::new(DirStore::open(dir.path()).unwrap());
    let follower = cairn_tlog::LogHandle::follow(store, signer().verifier(), &three).unwrap();
    assert_eq!(follower.size(), 3);
    let five = log.append(&entries(3, 2, "f")).unwrap().checkpoint;
    // Signed by the log's key, but for a root the tiles do not have: refused.
    let forged = signer()
        .sign(
            &cairn_tlog::Checkpoint {
                origin: "example.test/log".into(),
                size: 5,
                root: [9; 32],
                extensions: vec![],
            }
            .to_text(),
        )
        .unwrap();
    assert!(follower.observe(&forged).is_err());
    assert_eq!(follower.size(), 3);
    assert_eq!(&*follower.checkpoint(), three.as_str());
    // Signed by another key: refused.
    let stranger = NoteSigner::from_seed("example.test/log", &[8; 32]).unwrap();
    let text = cairn_tlog::Note::parse(five.as_bytes())
        .unwrap()
        .text()
        .to_owned();
    assert!(follower.observe(&stranger.sign(&text).unwrap()).is_err());
    // The real one is taken, after the refusals, and proofs hold at the new size.
    assert!(follower.observe(&five).unwrap());
    assert!(!follower.observe(&three).unwrap(), "went backwards");
    assert_eq!(follower.size(), 5);
    let root =
        cairn_tlog::Checkpoint::parse(cairn_tlog::Note::parse(five.as_bytes()).unwrap().text())
            .unwrap()
            .root;
    for i in 0..5u64 {
        let proof = follower.inclusion_proof(i, 5).unwrap();
        let leaf = leaf_hash(format!("f entry {i}").as_bytes());
        verify_inclusion(i, 5, &leaf, &proof, &root).unwrap();
    }
}

#[test]
fn tiles_without_a_checkpoint_or_past_an_older_one_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    let first = log.append(&entries(0, 10, "a")).unwrap().checkpoint;
    log.append(&entries(10, 700, "a")).unwrap();
    drop(log);
    let current = std::fs::read(dir.path().join("checkpoint")).unwrap();
    let bundle = std::fs::read(dir.path().join("tile/entries/000")).unwrap();

    // No checkpoint beside the tiles: refused, and no new checkpoint is written.
    std::fs::remove_file(dir.path().join("checkpoint")).unwrap();
    let err = LogWriter::open(DirStore::open(dir.path()).unwrap(), signer()).unwrap_err();
    assert!(
        err.to_string()
            .contains("there are entry tiles but no checkpoint"),
        "{err}"
    );
    assert!(!dir.path().join("checkpoint").exists());

    // An older checkpoint (10 entries) than the tiles (710): refused, nothing overwritten.
    std::fs::write(dir.path().join("checkpoint"), &first).unwrap();
    let err = LogWriter::open(DirStore::open(dir.path()).unwrap(), signer()).unwrap_err();
    assert!(
        err.to_string()
            .contains("the checkpoint is older than the tiles"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(dir.path().join("checkpoint")).unwrap(),
        first.as_bytes()
    );
    assert_eq!(
        std::fs::read(dir.path().join("tile/entries/000")).unwrap(),
        bundle
    );

    // The newest checkpoint back: the log opens and goes on.
    std::fs::write(dir.path().join("checkpoint"), &current).unwrap();
    let mut log = open(dir.path());
    assert_eq!(log.size(), 710);
    log.append(&entries(710, 1, "a")).unwrap();
}

/// Flips one byte inside an entry of a stored bundle, keeping its length.
fn alter(path: &Path, entry: &str) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes
        .windows(entry.len())
        .position(|w| w == entry.as_bytes())
        .unwrap();
    bytes[at] ^= 0x20;
    std::fs::write(path, bytes).unwrap();
}

#[tokio::test]
async fn an_altered_entry_is_never_served_replayed_or_copied_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    log.append(&entries(0, 300, "a")).unwrap();
    drop(log);
    // A full bundle: reads through the handle refuse the entry (and only its bundle).
    alter(&dir.path().join("tile/entries/000"), "a entry 7");
    let log = cairn_tlog::LogHandle::start(open(dir.path()), 256).unwrap();
    let err = log.entries(0, 10).unwrap_err().to_string();
    assert!(
        err.contains("log entry 7 in tile/entries/000 does not hash to its leaf"),
        "{err}"
    );
    assert!(log.entry(7).is_err());
    assert_eq!(log.entries(256, 300).unwrap().len(), 44);
    drop(log);
    // The partial tail, which the next batch copies: the writer refuses to open.
    alter(&dir.path().join("tile/entries/001.p/44"), "a entry 260");
    let err = LogWriter::open(DirStore::open(dir.path()).unwrap(), signer()).unwrap_err();
    assert!(err.to_string().contains("log entry 260"), "{err}");
}
