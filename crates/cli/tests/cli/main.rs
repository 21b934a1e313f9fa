//! Black-box tests of the `cairn` binary, one module per topic.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod architecture;
mod attest;
mod baseline;
mod boot_scan;
mod crash;
mod damage;
mod efi;
mod efi_enroll;
mod efi_log;
mod firmware;
mod firmware_update;
mod full_disk;
mod hosts;
mod inspect;
mod keys;
mod lies;
mod log;
mod migrate;
mod mirror;
mod openpgp;
mod packages;
mod pull;
mod reindex;
mod scale;
mod scan;
mod secrets;
mod serve;
mod ui;
mod util;
mod vm;
mod witness;
