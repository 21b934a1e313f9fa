//! Signed filesystem scans: stored content-addressed, listed by host.

pub use cairn_api::ScanSummary;

/// Most scans one listing returns.
pub const MAX_SCANS_LISTED: u32 = 1000;
