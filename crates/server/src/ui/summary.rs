//! One line about a log entry, with the page it is about: what the log pages list.
//!
//! An artifact's line names its digest only, never its plugin's name: a file whose deletion
//! is logged shows nothing of what it was, and a list cannot afford to look each one up.

use cairn_api::LogEntry;

/// A log entry as one line of a list.
pub struct EntryLine {
    /// Its index.
    pub index: u64,
    /// Its kind, as the entry's `kind` names it.
    pub kind: &'static str,
    /// What it records.
    pub text: String,
    /// The page about what it records, if there is one.
    pub href: Option<String>,
}

fn short(digest: &str) -> &str {
    digest.get(..16).unwrap_or(digest)
}

impl EntryLine {
    /// The line of entry `index`, from its bytes (an entry that does not parse says so).
    pub fn new(index: u64, bytes: &[u8]) -> EntryLine {
        let (kind, text, href) = match serde_json::from_slice::<LogEntry>(bytes) {
            Ok(entry) => describe(&entry),
            Err(_) => (
                "unknown",
                "an entry of a kind this server does not know".into(),
                None,
            ),
        };
        EntryLine {
            index,
            kind,
            text,
            href,
        }
    }
}

/// The kind, the text and the page of `entry`.
pub fn describe(entry: &LogEntry) -> (&'static str, String, Option<String>) {
    match entry {
        LogEntry::Artifact { digest, .. } => (
            "artifact",
            format!("file {}… published", short(digest)),
            Some(format!("/ui/files/{digest}")),
        ),
        LogEntry::Delete { digest, .. } => (
            "delete",
            format!("file {}… deleted", short(digest)),
            Some(format!("/ui/files/{digest}")),
        ),
        LogEntry::Scan { scan, .. } => (
            "scan",
            format!("scan of {} ({} entries)", scan.host, scan.entries),
            Some(format!("/ui/scans/{}", scan.digest)),
        ),
        LogEntry::Host { name, .. } => (
            "host",
            format!("host {name} enrolled"),
            Some(host_href(name)),
        ),
        LogEntry::Baseline { host, scan, .. } => (
            "baseline",
            format!("baseline of {host} set to scan {}…", short(scan)),
            Some(host_href(host)),
        ),
        LogEntry::Attestation {
            format,
            digest,
            subjects,
            ..
        } => (
            "attestation",
            format!("{format} about {} subject(s)", subjects.len()),
            Some(format!("/ui/attestations/{digest}")),
        ),
        LogEntry::Policy { version, .. } => {
            ("policy", format!("trust policy version {version}"), None)
        }
        LogEntry::Package { name, version, .. } => (
            "package",
            format!("package {name} {version} published"),
            None,
        ),
        LogEntry::PackageDelete { name, version, .. } => (
            "package_delete",
            format!("package {name} {version} deleted"),
            None,
        ),
        LogEntry::EfiImage { digest, .. } => (
            "efi_image",
            format!("EFI image {}… signed", short(digest)),
            None,
        ),
        LogEntry::EfiVars { variable, .. } => {
            ("efi_vars", format!("EFI variable {variable} update"), None)
        }
    }
}

/// The page of host `name`.
pub fn host_href(name: &str) -> String {
    format!("/ui/hosts/{}", super::text::path_segment(name))
}
