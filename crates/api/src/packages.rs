//! Packages of any kind (a `.zip`, a tarball, an image) with detached signatures of any
//! kind Cairn speaks, as Elastic's package-signing design has them: the registry stores the
//! bytes and their signatures and lists a `signature` property; a client verifies after
//! download with keys it holds itself.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

/// Longest package name.
pub const MAX_PACKAGE_NAME: usize = 128;
/// Longest file name of a package.
pub const MAX_PACKAGE_FILE: usize = 200;
/// Most signatures one package carries.
pub const MAX_PACKAGE_SIGNATURES: usize = 8;
/// Longest signature accepted, in bytes (an armored RSA-4096 OpenPGP signature is under 1
/// KiB; this leaves room for large notations).
pub const MAX_SIGNATURE_BYTES: usize = 16 * 1024;
/// Packages one listing returns when the query names no `limit`.
pub const DEFAULT_PACKAGE_LIMIT: u32 = 50;
/// Largest `limit` honoured.
pub const MAX_PACKAGE_LIMIT: u32 = 1000;

/// The kinds of detached signature a package can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureKind {
    /// An OpenPGP detached signature, armored or binary (`gpg --detach-sign`).
    Openpgp,
    /// Hex DER ECDSA (secp256k1 or P-256) over the SHA-256 of the file, as
    /// `openssl dgst -sha256 -sign` writes it (hex).
    Ecdsa,
    /// Ed25519 over the file's bytes: 64 raw bytes, or their hex.
    Ed25519,
}

impl SignatureKind {
    /// Every kind, in the order signatures of a package are tried.
    pub const ALL: [SignatureKind; 3] = [
        SignatureKind::Openpgp,
        SignatureKind::Ecdsa,
        SignatureKind::Ed25519,
    ];

    /// What is appended to the package's file name to serve a signature of this kind:
    /// `.sig` for OpenPGP, as Elastic's registry and every package archive name it.
    pub fn suffix(self) -> &'static str {
        match self {
            SignatureKind::Openpgp => ".sig",
            SignatureKind::Ecdsa => ".ecdsa",
            SignatureKind::Ed25519 => ".ed25519",
        }
    }

    /// The name used on the command line and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureKind::Openpgp => "openpgp",
            SignatureKind::Ecdsa => "ecdsa",
            SignatureKind::Ed25519 => "ed25519",
        }
    }
}

/// One detached signature of a package, exactly as it was uploaded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageSignature {
    /// Its kind.
    pub kind: SignatureKind,
    /// The bytes as uploaded (armored or binary), standard base64.
    pub signature: String,
    /// The key that verified it at upload: an OpenPGP fingerprint (hex) or a Cairn key id
    /// (hex SHA-256 of the SPKI DER); `None` when the registry had no key to check it with.
    #[serde(default)]
    pub key_id: Option<String>,
}

/// A package as the registry lists it (`GET /packages`, `GET /packages/{name}`, `GET
/// /packages/{name}/{version}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageSummary {
    /// Package name.
    pub name: String,
    /// Its version (semver).
    pub version: String,
    /// The file name it is served under.
    pub file: String,
    /// Its media type.
    pub media_type: String,
    /// SHA-256 of the bytes, hex.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// The first signature, base64 of its bytes as uploaded (Elastic's `signature`
    /// property).
    pub signature: String,
    /// Where the first signature is served (`/packages/{name}/{version}/{file}.sig`).
    pub signature_path: String,
    /// Where the bytes are served.
    pub download: String,
    /// The key that verified the first signature, if any.
    pub key_id: Option<String>,
    /// Every signature, in upload order.
    pub signatures: Vec<PackageSignature>,
    /// Upload time, UTC.
    pub created_at: NaiveDateTime,
    /// The log entry that published it.
    pub log_index: Option<u64>,
}

impl PackageSummary {
    /// The path a package's file, or (with a signature suffix) one of its signatures, is
    /// served under.
    pub fn path_of(name: &str, version: &str, file: &str, suffix: &str) -> String {
        format!("/packages/{name}/{version}/{file}{suffix}")
    }
}

/// `GET /packages` and `GET /packages/{name}`: packages sorted by name, then version
/// (newest version first), `skip` echoing the request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageList {
    /// The packages.
    pub packages: Vec<PackageSummary>,
    /// The `skip` of the request.
    pub skip: u32,
}

/// The answer to `POST /packages`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageAdded {
    /// `Added`, or `AlreadyExists` for the same bytes under the same name and version.
    pub outcome: crate::UploadOutcome,
    /// The package as listed.
    pub package: PackageSummary,
}

/// Whether `name` can be a package name: 1 to [`MAX_PACKAGE_NAME`] characters of ASCII
/// letters, digits, `.`, `_`, `-` and `+`, starting with a letter or digit (it is a path
/// segment and a file name everywhere).
pub fn is_valid_package_name(name: &str) -> bool {
    is_segment(name, MAX_PACKAGE_NAME)
}

/// Whether `file` can be a package's file name: as a package name but up to
/// [`MAX_PACKAGE_FILE`] characters, and not ending in a signature or proof suffix (those
/// paths serve the signatures and are what `cairn pull` writes beside the file).
pub fn is_valid_package_file(file: &str) -> bool {
    is_segment(file, MAX_PACKAGE_FILE)
        && !SignatureKind::ALL
            .iter()
            .any(|k| file.ends_with(k.suffix()))
        && !file.ends_with(".tlog-proof")
        && file != "proof"
}

fn is_segment(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_files_are_path_segments() {
        assert!(is_valid_package_name("nginx"));
        assert!(is_valid_package_name("a.b_c-d+e"));
        for bad in ["", ".hidden", "../x", "a/b", "a b", "é", "-x"] {
            assert!(!is_valid_package_name(bad), "{bad:?}");
        }
        assert!(!is_valid_package_name(&"a".repeat(MAX_PACKAGE_NAME + 1)));
        assert!(is_valid_package_file("nginx-1.2.0.zip"));
        assert!(is_valid_package_file(&"a".repeat(MAX_PACKAGE_FILE)));
        for bad in [
            "x.zip.sig",
            "x.ecdsa",
            "x.ed25519",
            "x.tlog-proof",
            "..",
            "a/b",
        ] {
            assert!(!is_valid_package_file(bad), "{bad:?}");
        }
    }
}
