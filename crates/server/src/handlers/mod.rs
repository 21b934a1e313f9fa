//! One module per resource; each handler's doc says what it keeps from memflow-registry
//! and what it fixes.

pub mod efi;
pub mod files;
pub mod health;
pub mod hosts;
pub mod log;
pub mod packages;
pub mod plugins;
pub mod policies;
pub mod scans;
pub mod search;
pub mod upload;
