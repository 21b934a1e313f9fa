//! The wire types of Cairn's HTTP API: what `cairn serve` answers and `cairn-client` reads.
//!
//! One definition each, serde only: the server serialises these types and the client
//! deserialises them, so the two cannot drift apart. The memflow-registry compatible shapes
//! ([`PluginList`], [`VariantList`], [`PluginVariant`], [`PluginMetadata`],
//! [`UploadOutcome`]) keep upstream's field names; Cairn's additions are extra fields that
//! memflow clients ignore. Log entries ([`LogEntry`]) are what the transparency log commits
//! to, and [`EntryProof`] is how a client gets one with its proof.
//!
//! Errors are answered as plain text with a 4xx or 5xx status, as memflow-registry does: there
//! is no error body type to decode.
//!
//! ```
//! let answer = r#"{"plugins":[{"name":"coredump","description":"a connector"}]}"#;
//! let list: cairn_api::PluginList = serde_json::from_str(answer).unwrap();
//! assert_eq!(list.plugins[0].name, "coredump");
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod attestations;
pub mod descriptor;
mod efi;
mod hosts;
mod log;
mod packages;
mod plugins;
mod policies;
mod report;
mod scans;
mod search;

pub use attestations::AttestationAdded;
pub use descriptor::{Architecture, Descriptor, FileType, PluginKind};
pub use efi::{EfiAdded, EfiFile, EfiImageSummary, EfiList, EfiVarsSummary};
pub use hosts::{
    BaselineSet, HostAdded, HostList, HostSummary, MAX_HOST_NAME, NewBaseline, NewHost,
    is_valid_host_name,
};
pub use log::{EntryAnswer, EntryProof, LogEntry, ProofAnswer};
pub use packages::{
    DEFAULT_PACKAGE_LIMIT, MAX_PACKAGE_FILE, MAX_PACKAGE_LIMIT, MAX_PACKAGE_NAME,
    MAX_PACKAGE_SIGNATURES, MAX_SIGNATURE_BYTES, PackageAdded, PackageList, PackageSignature,
    PackageSummary, SignatureKind, is_valid_package_file, is_valid_package_name,
};
pub use plugins::{
    DEFAULT_LIMIT, MAX_LIMIT, PluginList, PluginMetadata, PluginSummary, PluginVariant,
    UploadOutcome, VariantList,
};
pub use policies::{MAX_POLICY_BYTES, PolicyList, PolicyPublished, PolicySummary};
pub use report::{ANOMALY_KINDS, Comparison, Finding, ReportAnswer, ScanReport};
pub use scans::{ScanAdded, ScanList, ScanSummary};
pub use search::{
    DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT, SearchAnswer, SearchHit, SearchKey, normalize_search,
    search_keys,
};
