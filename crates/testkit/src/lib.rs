//! Servers the test suites start for themselves, on loopback, dying with the test process:
//! a PostgreSQL cluster ([`pg`]), an S3-compatible object store, moto ([`s3`]), and a
//! headless Chromium driven over WebDriver ([`browser`]); and the plugin fixtures
//! ([`fixtures`]).
//!
//! A test tier that asks for one of them and finds it missing fails with a message saying
//! how to install it; it never passes silently.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![forbid(unsafe_code)]

pub mod browser;
pub mod fixtures;
pub mod pg;
mod process;
pub mod s3;
