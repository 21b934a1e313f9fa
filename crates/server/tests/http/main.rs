//! Black-box tests of the HTTP API over a real loopback socket, one module per topic.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod attest;
mod compat;
mod efi;
mod files;
mod hostile;
mod hosts;
mod instances;
mod log;
mod ops;
mod package_keys;
mod packages;
mod policies;
mod queries;
mod reindex;
mod scans;
mod search;
mod timeouts;
mod trust;
mod ui;
mod ui_log;
mod ui_scans;
mod uploads;
mod util;
