//! Cairn's client: one typed [`Client`] for a registry's HTTP API, and verifiers that trust
//! only the bytes, the user's own trust policy and the transparency log, never the
//! registry's words.
//!
//! - [`Client`]: every request (`plugins`, `find`, `metadata`, `download_to`, `proof`,
//!   `consistency`, `push`, `delete`, `push_scan`, `scan`, `push_efi_image`, `efi_proof`…),
//!   answers decoded into `cairn-api` types, error statuses into [`Error::Status`] with the
//!   server's message.
//! - [`pull()`]: a plugin, proven before it is installed (see [`pull`](mod@pull) for the
//!   checks); each lie a registry can tell is refused with a [`Refusal`] naming it.
//! - [`pull_package`]: a package with detached signatures, proven the same way, and
//!   [`verify_offline`]: a pulled package checked again with no network.
//! - [`baseline::fetch`]: a scan baseline, proven the same way.
//! - [`efi::prove_image`]: that an EFI image was published (its `efi_image` entry).
//! - [`search::search`]: the log searched by digest, subject, material, key, name or host,
//!   every hit proven; [`attest::add`] and [`attest::get`]: attestations submitted and
//!   found, proven byte for byte.
//! - [`LogState`]: the last checkpoint seen of each log, so every new one must extend it.
//! - [`HttpFetcher`]: `cairn_tlog::verify_log` over HTTP.
//!
//! Pulling and verifying a plugin:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cairn_client::{Client, LogState, PullRequest};
//! use cairn_sign::policy::Policy;
//!
//! let policy = Policy::load("policy.toml".as_ref(), chrono::Utc::now())?;
//! let client = Client::new("http://localhost:3000")?;
//! let state = LogState::new("/var/lib/me/checkpoints");
//! let request = PullRequest::for_host("coredump", Some("0.2.0"));
//! let verified = cairn_client::pull(&client, &policy, &state, &request, &()).await?;
//! let installed = verified.install("plugins".as_ref())?;
//! println!("installed {}", installed.file.display());
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod attest;
pub mod baseline;
mod bytes;
mod client;
pub mod efi;
mod error;
mod fetcher;
pub mod package;
mod proof;
pub mod pull;
mod query;
pub mod search;
mod state;

pub use client::{
    Client, Download, PackageUpload, Progress, SearchRequest, check_digest, urlencode,
};
pub use error::{Error, Refusal};
pub use fetcher::HttpFetcher;
pub use package::{
    InstalledPackage, OfflineVerified, VerifiedPackage, pull_package, verify_offline,
};
pub use proof::{Proven, hashes as decode_proof_hashes, prove};
pub use pull::{Installed, PullRequest, Verified, pull};
pub use query::VariantQuery;
/// HTTP status codes, as [`Error::Status`] carries them.
pub use reqwest::StatusCode;
pub use state::{LogState, Seen};
