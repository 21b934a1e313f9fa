//! Interoperability tests live in `tests/`: the real memflow-registry client crate, and
//! `curl` + `openssl` exactly as memflow-registry's README shows, against `cairn serve`.
#![forbid(unsafe_code)]
