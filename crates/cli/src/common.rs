//! What several commands share: talking to a registry, passphrases, the log key and storage
//! flags, plugin filters, key ids, the user's trust state, the registry a mirror mirrors, environment variables and file digests.
//! Commands are peers: each imports from here, never from another command.

pub mod env;
pub mod files;
pub mod filters;
pub mod key_ids;
pub mod log_key;
pub mod passphrase;
pub mod remote;
pub mod shutdown;
pub mod signature;
pub mod storage;
pub mod trust;
pub mod upstream;
