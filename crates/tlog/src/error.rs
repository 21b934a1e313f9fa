//! Log errors.

/// Why a proof did not verify. The caller keeps the inputs as evidence.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("index {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// Leaf index.
        index: u64,
        /// Tree size.
        size: u64,
    },
    /// A tree size beyond what the log has published.
    #[error("tree size {size} is beyond the log's {published} published entries")]
    SizeBeyondLog {
        /// Size asked for.
        size: u64,
        /// Published size.
        published: u64,
    },
    /// The older tree is larger than the newer one.
    #[error("tree size {old} is larger than {new}")]
    SizesReversed {
        /// First size.
        old: u64,
        /// Second size.
        new: u64,
    },
    /// The proof has too many or too few hashes for these sizes.
    #[error("proof has the wrong number of hashes")]
    WrongLength,
    /// The recomputed root differs from the expected one.
    #[error("recomputed root does not match")]
    RootMismatch,
    /// A proof from the empty tree must be empty and start from the empty-tree root.
    #[error("consistency from the empty tree needs an empty proof and the empty-tree root")]
    BadEmptyTree,
}

/// A log error.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A proof failed.
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// A node needed for a proof is not available (not yet integrated, or missing storage).
    #[error("node at level {level}, index {index} is not available")]
    MissingNode {
        /// Merkle level (0 = leaves).
        level: u32,
        /// Index within the level.
        index: u64,
    },
    /// A signed note failed: no trusted signature, or a trusted key's signature is invalid.
    #[error("note verification failed: {0}")]
    Note(String),
    /// Secret memory for the signing key failed (RLIMIT_MEMLOCK, usually).
    #[error(transparent)]
    Secret(#[from] cairn_secmem::Error),
    /// The writer could not write a batch (its storage failed: full, read-only…); the
    /// batch was not published.
    #[error("writing the log failed: {0}")]
    Write(String),
    /// The writer thread is gone, or this process does not write the log.
    #[error("the log writer is not running: {0}")]
    Stopped(&'static str),
    /// A stored entry does not hash to the leaf the tree holds for it: the bundle was
    /// altered after it was logged.
    #[error("log entry {index} in {path} does not hash to its leaf: the stored bundle was altered")]
    EntryAltered {
        /// The entry's index.
        index: u64,
        /// The bundle it was read from.
        path: String,
    },
    /// What is stored contradicts the checkpoint: opening would restart or fork the log.
    #[error("the stored log contradicts its checkpoint: {0}")]
    Contradiction(String),
    /// Bytes that should be a tile, bundle or path are malformed.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being parsed.
        what: &'static str,
        /// What was wrong.
        reason: String,
    },
}
