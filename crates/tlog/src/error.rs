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
    /// Reading a checkpoint, tile or bundle failed, or it is not there.
    #[error("{}", fetch_message(.path, .failure))]
    Fetch {
        /// The object's C2SP path (`checkpoint`, `tile/0/000`, …).
        path: String,
        /// Why it could not be had.
        failure: FetchFailure,
    },
    /// Writing a checkpoint, tile or bundle to the log's storage failed.
    #[error("could not store {path}: {failure}")]
    Store {
        /// The object's C2SP path.
        path: String,
        /// The storage's answer.
        failure: std::io::Error,
    },
    /// The log's key file cannot be used: missing, unreadable, unwritable, or not an
    /// Ed25519 key.
    #[error("log key {}: {failure}", .path.display())]
    KeyFile {
        /// The key file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        failure: KeyFileFailure,
    },
    /// Bytes that should be a note, checkpoint, key, tile or bundle do not parse.
    #[error("malformed {what}: {defect}")]
    Malformed {
        /// What was being parsed (`checkpoint`, `signed note`, `verifier key`, `signer key`,
        /// `hash tile`, `entry bundle`, `key name`).
        what: &'static str,
        /// What is wrong with it.
        defect: Defect,
    },
    /// The log's parts disagree: with each other, or with an earlier checkpoint.
    #[error("{0}")]
    Inconsistent(Inconsistency),
    /// A signed note's signatures: none by a trusted key, or one that does not verify.
    #[error("note verification failed: {0}")]
    BadSignature(SignatureFailure),
    /// An entry larger than a bundle can hold.
    #[error("entry too large: {size} bytes exceeds {max}")]
    EntryTooLarge {
        /// The entry's size.
        size: usize,
        /// The largest entry a bundle holds ([`crate::tile::MAX_ENTRY_SIZE`]).
        max: usize,
    },
    /// No published checkpoint covered an entry in the time waited.
    #[error("no checkpoint covered entry {index} within {waited:?}")]
    Timeout {
        /// The entry's index.
        index: u64,
        /// How long it was waited for.
        waited: std::time::Duration,
    },
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
    /// A bug, or a process out of resources: a thread could not start, or one panicked
    /// holding the tree.
    #[error("internal error: {0}")]
    Internal(String),
}

fn fetch_message(path: &str, failure: &FetchFailure) -> String {
    match failure {
        FetchFailure::Missing => format!("{path} is missing"),
        FetchFailure::Io(e) => format!("reading {path} failed: {e}"),
    }
}

/// Why a log object could not be read ([`Error::Fetch`]).
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum FetchFailure {
    /// It does not exist (in a store: no such file; over HTTP: 404), though what was
    /// published says it should.
    #[error("missing")]
    Missing,
    /// The storage or the transport failed (HTTP errors arrive as `io::Error::other`).
    #[error("{0}")]
    Io(std::io::Error),
}

/// What is wrong with the log's key file ([`Error::KeyFile`]).
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum KeyFileFailure {
    /// There is no file there.
    #[error("no such file")]
    Missing,
    /// Reading or writing it, or its directory, failed.
    #[error("{0}")]
    Io(std::io::Error),
    /// Reading it into guarded memory, or decoding its PEM armour, failed.
    #[error("{0}")]
    Secret(cairn_secmem::Error),
    /// It holds a PEM block of another kind.
    #[error("a {label:?} PEM block, not PRIVATE KEY")]
    Label {
        /// The block's label.
        label: String,
    },
    /// A `PRIVATE KEY` block that is not a PKCS#8 Ed25519 key.
    #[error("not an Ed25519 PKCS#8 key: {reason}")]
    NotEd25519 {
        /// The PKCS#8 decoder's explanation.
        reason: String,
    },
}

/// What is wrong with bytes that do not parse ([`Error::Malformed`]).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Defect {
    /// A required part is absent (a line, a separator, a prefix).
    #[error("no {0}")]
    Missing(&'static str),
    /// A part that must not be empty is.
    #[error("empty {0}")]
    Empty(&'static str),
    /// A text or block that must end in a newline does not.
    #[error("{0} must end in a newline")]
    Unterminated(&'static str),
    /// A field is not in its required encoding.
    #[error("{field} is not {expected}")]
    Encoding {
        /// The field.
        field: &'static str,
        /// The encoding it must have (`base64`, `hex`, `a canonical decimal`, …).
        expected: &'static str,
    },
    /// A field has the wrong number of bytes.
    #[error("{field} is {found} bytes, not {expected}")]
    Length {
        /// The field.
        field: &'static str,
        /// Bytes it must have.
        expected: usize,
        /// Bytes it has.
        found: usize,
    },
    /// A number too large for its type.
    #[error("{0} out of range")]
    OutOfRange(&'static str),
    /// The whole is larger than accepted.
    #[error("{field} too large (over {max} bytes)")]
    TooLarge {
        /// What is too large.
        field: &'static str,
        /// The most bytes accepted.
        max: usize,
    },
    /// More parts than accepted.
    #[error("too many {field} (over {max})")]
    TooMany {
        /// What there are too many of.
        field: &'static str,
        /// The most accepted.
        max: usize,
    },
    /// The bytes end in the middle of a part.
    #[error("truncated {0}")]
    Truncated(&'static str),
    /// A field's value is not acceptable.
    #[error("invalid {0}")]
    Invalid(&'static str),
    /// A key name that is empty or holds whitespace or `+`.
    #[error("{0:?} (names are non-empty, without whitespace or '+')")]
    BadName(String),
    /// Control characters other than newline in a note's text.
    #[error("control characters in the text")]
    ControlCharacters,
    /// A key of another algorithm than Ed25519.
    #[error("not an Ed25519 key")]
    NotEd25519,
    /// The key id written with a key is not the id of that key.
    #[error("id does not match the key")]
    KeyIdMismatch,
}

/// How the log's parts disagree ([`Error::Inconsistent`]).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Inconsistency {
    /// The entries do not hash to the root the checkpoint signs.
    #[error("the entries do not hash to the checkpoint's root")]
    RootMismatch,
    /// A stored hash tile differs from the hashes recomputed from the entries.
    #[error("{path}: hash {index} does not match the entries")]
    TileHash {
        /// The tile's path.
        path: String,
        /// The hash's position in the tile.
        index: usize,
    },
    /// An entry bundle holds another number of entries than its path says.
    #[error("{path} holds {found} entries, expected {expected}")]
    EntryCount {
        /// The bundle's path.
        path: String,
        /// Entries its path says it holds.
        expected: u64,
        /// Entries it holds.
        found: u64,
    },
    /// The current checkpoint has fewer entries than an earlier one.
    #[error("the log shrank from {from} to {to} entries")]
    Shrank {
        /// The earlier size.
        from: u64,
        /// The current size.
        to: u64,
    },
    /// The earlier checkpoint's tree is not a prefix of the current one: the log forked.
    #[error(
        "INCONSISTENT: the earlier checkpoint (size {old_size}) is not a prefix of the current \
         one (size {new_size}):\n{old}\n{new}"
    )]
    NotAPrefix {
        /// The earlier checkpoint's size.
        old_size: u64,
        /// The current checkpoint's size.
        new_size: u64,
        /// The earlier signed checkpoint, as text (evidence).
        old: String,
        /// The current signed checkpoint, as text (evidence).
        new: String,
    },
    /// A checkpoint of another log: its origin is not this log's key name.
    #[error("checkpoint origin {found:?} is not this log's {expected:?}")]
    OriginMismatch {
        /// The checkpoint's origin.
        found: String,
        /// This log's origin.
        expected: String,
    },
    /// The stored tiles do not hash to the published checkpoint's root.
    #[error("stored tiles do not match the published checkpoint")]
    TilesDoNotMatchCheckpoint,
    /// The tree does not extend the last signed checkpoint's: the writer refuses to sign it.
    #[error("refusing to sign a checkpoint inconsistent with the previous one")]
    WouldSignInconsistent,
}

/// Why a signed note is refused ([`Error::BadSignature`]).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureFailure {
    /// No signature is by a trusted key.
    #[error("no signature by a trusted key")]
    NoTrustedSignature,
    /// A trusted key's signature does not verify.
    #[error("invalid signature for key {key}")]
    Invalid {
        /// The key, as `<name>+<8 hex id>`.
        key: String,
    },
    /// Fewer trusted witnesses cosigned than required.
    #[error("{got} of the {need} witness cosignatures required (valid ones by: {by})")]
    Quorum {
        /// Cosignatures required.
        need: usize,
        /// Valid cosignatures by distinct trusted witnesses.
        got: usize,
        /// Their names, comma-separated (`none` when there are none).
        by: String,
    },
}
