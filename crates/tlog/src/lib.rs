//! Cairn's transparency log, pure parts: Merkle math and the C2SP wire formats.
//!
//! - [`merkle`]: RFC 6962 / RFC 9162 leaf and node hashing, inclusion and consistency proof
//!   generation over any [`NodeSource`] (tiles, memory), and their verification. A
//!   consistency proof from size 0 is accepted only when empty and paired with the
//!   empty-tree root (the C2SP witness rule).
//! - [`note`] and [`checkpoint`]: C2SP signed notes (Ed25519, key ID
//!   `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ pk)[:4]`, verifier keys `name+hexid+base64`) and the
//!   tlog-checkpoint body they sign; [`cosignature`]: witnesses' C2SP `cosignature/v1`
//!   lines (key type 0x04) and quorum checks.
//! - [`tile`]: C2SP tlog-tiles paths (`tile/<L>/<N>[.p/<W>]`, x-grouped indices) and the
//!   encodings of hash tiles and entry bundles.
//!
//! ```
//! use cairn_tlog::merkle::{self, MemoryTree};
//! let mut tree = MemoryTree::default();
//! for entry in [&b"a"[..], b"b", b"c"] {
//!     tree.push(merkle::leaf_hash(entry));
//! }
//! let proof = merkle::inclusion_proof(&tree, 1, 3).unwrap();
//! merkle::verify_inclusion(1, 3, &merkle::leaf_hash(b"b"), &proof, &tree.root()).unwrap();
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod bundles;
pub mod checkpoint;
pub mod cosignature;
pub mod entry;
mod error;
pub mod keyfile;
pub mod merkle;
pub mod note;
pub mod proof;
pub mod sequencer;
pub mod store;
pub mod tile;
pub mod verify;
pub mod witness;
pub mod writer;

pub use checkpoint::Checkpoint;
pub use cosignature::{CosignatureVerifier, Cosigner};
pub use error::{
    Defect, Error, FetchFailure, Inconsistency, KeyFileFailure, ProofError, SignatureFailure,
};
pub use merkle::{Hash, MemoryTree, NodeSource};
pub use note::{Note, NoteSigner, NoteVerifier};
pub use proof::TlogProof;
pub use sequencer::{Appended, LogHandle};
pub use store::DirStore;
pub use verify::{Fetcher, Verified, verify_log};
pub use writer::{Committed, LogWriter};
