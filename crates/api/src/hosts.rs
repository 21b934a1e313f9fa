//! Hosts that submit scans: each has its own token (scans of that host only) and the key
//! its scans must be signed with.

use serde::{Deserialize, Serialize};

/// Longest host name the registry takes.
pub const MAX_HOST_NAME: usize = 253;

/// Whether `name` is a host name the registry takes: 1 to 253 ASCII letters, digits, `.`,
/// `-` and `_`, not starting with `.` or `-` (so it is safe in paths, URLs and labels).
pub fn is_valid_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_HOST_NAME
        && !name.starts_with(['.', '-'])
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// An enrolled host, as `GET /hosts` lists it and its `host` log entry records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostSummary {
    /// Its name: the `host` its scans carry.
    pub name: String,
    /// The public key (PEM, SubjectPublicKeyInfo) its scans must verify under.
    pub key: String,
    /// That key's id.
    pub key_id: String,
    /// Enrolment time.
    pub created_at: chrono::NaiveDateTime,
    /// Transparency-log entry that enrolled it.
    #[serde(default)]
    pub log_index: Option<u64>,
    /// The scan its arriving scans are compared with, if one is set.
    #[serde(default)]
    pub baseline: Option<String>,
}

/// `POST /hosts`: enrol a host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewHost {
    /// Its name.
    pub name: String,
    /// Its public key, PEM (secp256k1 or P-256: scans carry ECDSA signatures).
    pub key: String,
}

/// The answer to `POST /hosts`: the host's token is shown this once (the registry keeps
/// only its SHA-256).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostAdded {
    /// The enrolled host.
    pub host: HostSummary,
    /// Its bearer token: it can submit scans of this host and nothing else.
    pub token: String,
}

/// `GET /hosts`: `{"hosts":[…]}` by name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostList {
    /// The hosts.
    pub hosts: Vec<HostSummary>,
}

/// `PUT /hosts/{name}/baseline`: the scan a host's arriving scans are compared with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewBaseline {
    /// SHA-256 of a stored scan of that host.
    pub scan: String,
}

/// The answer to `PUT /hosts/{name}/baseline`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineSet {
    /// The host.
    pub host: String,
    /// The scan now its baseline.
    pub scan: String,
    /// The `baseline` log entry that set it.
    pub log_index: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_safe_in_paths_urls_and_labels() {
        for good in ["web1", "db-2.example.org", "a_b", "X"] {
            assert!(is_valid_host_name(good), "{good}");
        }
        let long = "a".repeat(MAX_HOST_NAME + 1);
        for bad in [
            "",
            ".",
            "..",
            "-x",
            "a/b",
            "a b",
            "a\"b",
            "é",
            long.as_str(),
        ] {
            assert!(!is_valid_host_name(bad), "{bad:?}");
        }
    }
}
