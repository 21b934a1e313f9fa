//! Searching the log: which keys each entry is found by, and the answers of
//! `GET /log/search`.
//!
//! [`search_keys`] is the one definition of what an entry is found by. The registry indexes
//! exactly these keys, and a client checks every hit against them, so a search answer that
//! names an entry the query does not match is caught on the client's side.

use serde::{Deserialize, Serialize};

use crate::log::LogEntry;

/// Hits per search answer when the query names no `limit`.
pub const DEFAULT_SEARCH_LIMIT: u32 = 50;
/// Most hits per search answer.
pub const MAX_SEARCH_LIMIT: u32 = 500;

/// What a search looks for: one field of `GET /log/search`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchKey {
    /// The SHA-256 of what an entry publishes, deletes or speaks of directly (an artifact,
    /// package, scan, EFI file or its Authenticode digest and signature list, an
    /// attestation document, a policy).
    Digest,
    /// A digest an attestation names as a subject (link products, statement subjects).
    Subject,
    /// A digest an attestation names as a material (link inputs).
    Material,
    /// A signer's key id: hex SHA-256 of the key's SPKI DER (or the OpenPGP fingerprint, or
    /// an EFI signer certificate's SHA-256).
    Key,
    /// A plugin or package name, or `name@version`.
    Name,
    /// A scanned or enrolled host.
    Host,
}

impl SearchKey {
    /// Every key, in query order.
    pub const ALL: [SearchKey; 6] = [
        SearchKey::Digest,
        SearchKey::Subject,
        SearchKey::Material,
        SearchKey::Key,
        SearchKey::Name,
        SearchKey::Host,
    ];

    /// The query field's name.
    pub fn as_str(self) -> &'static str {
        match self {
            SearchKey::Digest => "digest",
            SearchKey::Subject => "subject",
            SearchKey::Material => "material",
            SearchKey::Key => "key",
            SearchKey::Name => "name",
            SearchKey::Host => "host",
        }
    }

    /// Whether values of this key are SHA-256 digests (or key ids), compared as lowercase
    /// hex.
    fn is_hex(self) -> bool {
        matches!(
            self,
            SearchKey::Digest | SearchKey::Subject | SearchKey::Material | SearchKey::Key
        )
    }
}

/// A search value as indexed: digests and key ids in lowercase hex (up to 128 digits)
/// without a `sha256:` prefix; names and hosts as they are. `None` for a value that can
/// match nothing (empty, over 200 bytes, or a digest that is not hex). Normalising a
/// normalised value gives it back.
pub fn normalize_search(key: SearchKey, value: &str) -> Option<String> {
    let value = value.trim();
    if value.is_empty() || value.len() > 200 {
        return None;
    }
    if key.is_hex() {
        let value = value.strip_prefix("sha256:").unwrap_or(value);
        let hex =
            !value.is_empty() && value.len() <= 128 && value.bytes().all(|b| b.is_ascii_hexdigit());
        return hex.then(|| value.to_ascii_lowercase());
    }
    Some(value.to_owned())
}

/// Every key an entry is found by, normalised, without repeats.
pub fn search_keys(entry: &LogEntry) -> Vec<(SearchKey, String)> {
    let mut keys = Keys(Vec::new());
    match entry {
        LogEntry::Artifact {
            digest,
            key_id,
            descriptors,
            ..
        } => {
            keys.add(SearchKey::Digest, digest);
            keys.add_opt(SearchKey::Key, key_id.as_deref());
            for d in descriptors {
                keys.add(SearchKey::Name, &d.name);
                keys.add(SearchKey::Name, &format!("{}@{}", d.name, d.version));
            }
        }
        LogEntry::Delete { digest, .. } => keys.add(SearchKey::Digest, digest),
        LogEntry::Scan { scan, .. } => {
            keys.add(SearchKey::Digest, &scan.digest);
            keys.add(SearchKey::Host, &scan.host);
            keys.add_opt(SearchKey::Key, scan.key_id.as_deref());
        }
        LogEntry::Host { name, key_id, .. } => {
            keys.add(SearchKey::Host, name);
            keys.add(SearchKey::Key, key_id);
        }
        LogEntry::Baseline { host, scan, .. } => {
            keys.add(SearchKey::Host, host);
            keys.add(SearchKey::Digest, scan);
        }
        LogEntry::Attestation {
            digest,
            subjects,
            materials,
            signers,
            ..
        } => {
            keys.add(SearchKey::Digest, digest);
            subjects
                .iter()
                .for_each(|s| keys.add(SearchKey::Subject, s));
            materials
                .iter()
                .for_each(|m| keys.add(SearchKey::Material, m));
            signers.iter().for_each(|k| keys.add(SearchKey::Key, k));
        }
        LogEntry::Package {
            name,
            version,
            digest,
            signatures,
            ..
        } => {
            keys.add(SearchKey::Digest, digest);
            keys.add(SearchKey::Name, name);
            keys.add(SearchKey::Name, &format!("{name}@{version}"));
            for s in signatures {
                keys.add_opt(SearchKey::Key, s.key_id.as_deref());
            }
        }
        LogEntry::PackageDelete {
            name,
            version,
            digest,
            ..
        } => {
            keys.add(SearchKey::Digest, digest);
            keys.add(SearchKey::Name, name);
            keys.add(SearchKey::Name, &format!("{name}@{version}"));
        }
        LogEntry::EfiImage {
            digest,
            authenticode,
            signers,
            ..
        } => {
            keys.add(SearchKey::Digest, digest);
            keys.add(SearchKey::Digest, authenticode);
            signers.iter().for_each(|k| keys.add(SearchKey::Key, k));
        }
        LogEntry::EfiVars {
            digest,
            list_digest,
            signer,
            ..
        } => {
            keys.add(SearchKey::Digest, digest);
            keys.add(SearchKey::Digest, list_digest);
            keys.add(SearchKey::Key, signer);
        }
        LogEntry::Policy { digest, roots, .. } => {
            keys.add(SearchKey::Digest, digest);
            roots.iter().for_each(|k| keys.add(SearchKey::Key, k));
        }
    }
    keys.0
}

struct Keys(Vec<(SearchKey, String)>);

impl Keys {
    fn add(&mut self, key: SearchKey, value: &str) {
        if let Some(v) = normalize_search(key, value) {
            if !self.0.iter().any(|(k, x)| *k == key && *x == v) {
                self.0.push((key, v));
            }
        }
    }

    fn add_opt(&mut self, key: SearchKey, value: Option<&str>) {
        if let Some(v) = value {
            self.add(key, v);
        }
    }
}

/// One entry a search found. `E` is how the entry is held: parsed (`serde_json::Value`, what
/// a client reads), or as the logged bytes (`Box<RawValue>`, what the registry answers
/// without parsing each entry twice).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit<E = serde_json::Value> {
    /// Index in the log.
    pub index: u64,
    /// The entry (a client hashes it canonically to get its leaf).
    pub entry: E,
    /// For an entry that publishes something (an artifact, a package version), the index of
    /// the later entry that deleted it, if the log has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_by: Option<u64>,
    /// Inclusion proof for the answer's checkpoint, base64 hashes (with `proofs=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<Vec<String>>,
}

/// `GET /log/search`: the hits in log order, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchAnswer<E = serde_json::Value> {
    /// What was searched: the key and its normalised value.
    pub key: SearchKey,
    /// The normalised value.
    pub value: String,
    /// The hits, by increasing index.
    pub hits: Vec<SearchHit<E>>,
    /// Pass as `after` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
    /// The signed checkpoint the proofs are for (with `proofs=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_normalised_and_names_kept() {
        assert_eq!(
            normalize_search(SearchKey::Digest, " sha256:ABcd ").as_deref(),
            Some("abcd")
        );
        assert_eq!(
            normalize_search(SearchKey::Name, "Foo@1").as_deref(),
            Some("Foo@1")
        );
        assert_eq!(normalize_search(SearchKey::Key, ""), None);
        assert_eq!(
            normalize_search(SearchKey::Subject, "sha256:sha256:ab"),
            None
        );
        assert_eq!(normalize_search(SearchKey::Material, "not hex"), None);
        assert_eq!(normalize_search(SearchKey::Host, &"h".repeat(201)), None);
    }

    #[test]
    fn an_attestation_is_found_by_everything_it_names_once() {
        let entry = LogEntry::Attestation {
            format: "in-toto-link".into(),
            digest: "sha256:AA".into(),
            subjects: vec!["bb".into(), "bb".into()],
            materials: vec!["cc".into()],
            signers: vec!["dd".into()],
        };
        assert_eq!(
            search_keys(&entry),
            vec![
                (SearchKey::Digest, "aa".to_owned()),
                (SearchKey::Subject, "bb".to_owned()),
                (SearchKey::Material, "cc".to_owned()),
                (SearchKey::Key, "dd".to_owned()),
            ]
        );
    }
}
