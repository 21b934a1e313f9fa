//! A C2SP tlog-witness (`cairn witness serve`): for each log it is configured with, it
//! keeps the size and root it cosigned last, and cosigns a new checkpoint only when the
//! log's signature verifies and a consistency proof shows it extends that one. Each new
//! size is committed to SQLite before the cosignature leaves, so a witness killed at any
//! point never cosigns a fork of what it already cosigned.
//!
//! The HTTP side lives in `cairn-server` (`witness` module); this crate holds the rules.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod config;
mod error;
mod state;
mod witness;

pub use config::{LogConfig, WitnessConfig};
pub use error::{Error, Refusal};
pub use witness::Witness;
