//! Cairn's registry domain: artifacts, their plugin variants, queries, storage.
//!
//! A [`Registry`] owns four things:
//! - the **index** ([`Index`]): SQLite (embedded) or PostgreSQL (many instances) through
//!   sqlx, one row per artifact and one per plugin descriptor, with an index for every
//!   filter the HTTP API offers;
//! - the **blob store** ([`BlobStore`]): artifacts content-addressed by SHA-256 through
//!   `object_store` (`blobs/sha256/ab/abcdef…`), in the data directory or an S3 bucket
//!   ([`objects`]);
//! - the **transparency log**: written by this process alone (embedded), or shared by every
//!   instance on one PostgreSQL database, sequenced there and integrated by one leader;
//! - the **trusted keys** ([`TrustedKeys`]) that upload signatures must verify under.
//!
//! An upload is streamed into an [`Upload`] (a staging file, hashed as bytes arrive, never
//! held in memory), then [`Registry::publish`] analyses it, checks its signature and commits
//! it: blob first, then the log entry, which the index applies ([`Index::apply`], the one
//! projection of log entries into rows). A crash between the two leaves an unreferenced
//! blob, which nothing serves: readers go through the index.
//! [`migrate`] moves an embedded installation to PostgreSQL and S3; [`scrub`] checks the
//! log, the index and the blobs of one against each other.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cairn_registry::Error> {
//! use cairn_registry::{Registry, RegistryConfig};
//! let registry = Registry::open(RegistryConfig::new("./cairn-data")).await?;
//! for plugin in registry.plugins().await? {
//!     println!("{}: {}", plugin.name, plugin.description);
//! }
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod blobs;
mod checked_read;
mod digest;
mod error;
mod index;
mod locks;
mod log_entry;
mod metrics;
pub mod migrate;
mod model;
pub mod objects;
mod opening;
mod registry;
mod scans;
pub mod scrub;
mod shared_log;
mod staging;

pub use blobs::{BlobRead, BlobStore};
pub use cairn_api::{EfiFile, EfiImageSummary, EfiVarsSummary};
pub use cairn_efi::auth::Variable as EfiVariable;
pub use cairn_sign::attestation;
pub use cairn_sign::{SignatureCheck, SignatureDefect, TrustedKeys};
pub use digest::{Digest, DigestPrefix};
pub use error::Error;
pub use index::overview::{PluginOverview, VariantGroup};
pub use index::packages::PackageQuery;
pub use index::{Index, Snapshot};
pub use log_entry::{EntryCodec, LogEntry};
pub use metrics::{AnomalyLabels, Readiness, RegistryMetrics};
pub use model::{
    DEFAULT_LIMIT, FindQuery, MAX_LIMIT, NewArtifact, PluginMetadata, PluginSummary, PluginVariant,
    UploadOutcome,
};
pub use model::{MAX_NAME_BYTES, MAX_VERSION_BYTES};
pub use registry::{
    DEFAULT_LOG_WAIT, DEFAULT_MAX_UPLOAD_BYTES, Found, LogKey, MAX_EFI_LISTED, NewPackage,
    Registry, RegistryConfig, SearchPage, Submitter,
};
pub use scans::{MAX_SCANS_LISTED, ScanSummary};
pub use staging::{Staged, Upload};
