//! Published Secure Boot files: signed EFI images and signed variable updates (`.auth`),
//! what the registry lists about each (also what their log entries record).

use serde::{Deserialize, Serialize};

use crate::plugins::UploadOutcome;

/// A published EFI image (what its `efi_image` log entry records).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EfiImageSummary {
    /// SHA-256 of the file, hex.
    pub digest: String,
    /// File size in bytes.
    pub size: u64,
    /// The Authenticode digest (what db and dbx list, what the signatures sign), hex.
    pub authenticode: String,
    /// SHA-256 of each signature's signer certificate (DER), hex, in signature order.
    pub signers: Vec<String>,
    /// Upload time.
    pub created_at: chrono::NaiveDateTime,
    /// Transparency-log entry that published it.
    #[serde(default)]
    pub log_index: Option<u64>,
}

/// A published signed variable update (what its `efi_vars` log entry records).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EfiVarsSummary {
    /// SHA-256 of the `.auth` file, hex.
    pub digest: String,
    /// File size in bytes.
    pub size: u64,
    /// The variable it updates: `PK`, `KEK`, `db` or `dbx`.
    pub variable: String,
    /// Whether it appends to the variable (else it replaces it).
    pub append: bool,
    /// Its timestamp, `YYYY-MM-DD HH:MM:SS` (UTC).
    pub time: String,
    /// SHA-256 of the new contents (the signature list), hex.
    pub list_digest: String,
    /// SHA-256 of the signer's certificate (DER), hex.
    pub signer: String,
    /// Upload time.
    pub created_at: chrono::NaiveDateTime,
    /// Transparency-log entry that published it.
    #[serde(default)]
    pub log_index: Option<u64>,
}

/// A published Secure Boot file, tagged by `kind` (`efi_image` or `efi_vars`, as its log
/// entry is).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EfiFile {
    /// A signed EFI image.
    EfiImage(EfiImageSummary),
    /// A signed variable update.
    EfiVars(EfiVarsSummary),
}

impl EfiFile {
    /// SHA-256 of the file, hex.
    pub fn digest(&self) -> &str {
        match self {
            EfiFile::EfiImage(i) => &i.digest,
            EfiFile::EfiVars(v) => &v.digest,
        }
    }

    /// File size in bytes.
    pub fn size(&self) -> u64 {
        match self {
            EfiFile::EfiImage(i) => i.size,
            EfiFile::EfiVars(v) => v.size,
        }
    }

    /// Transparency-log entry that published it.
    pub fn log_index(&self) -> Option<u64> {
        match self {
            EfiFile::EfiImage(i) => i.log_index,
            EfiFile::EfiVars(v) => v.log_index,
        }
    }
}

/// The answer to `POST /efi/images` and `POST /efi/vars`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EfiAdded {
    /// Stored now, or stored before.
    pub outcome: UploadOutcome,
    /// The stored file.
    #[serde(flatten)]
    pub file: EfiFile,
}

/// `GET /efi?authenticode=`: `{"files":[…]}`, the images with that Authenticode digest,
/// oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EfiList {
    /// The files.
    pub files: Vec<EfiFile>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn an_upload_answer_is_flat_and_tagged_and_round_trips() {
        let added = EfiAdded {
            outcome: UploadOutcome::Added,
            file: EfiFile::EfiVars(EfiVarsSummary {
                digest: "ab".into(),
                size: 3,
                variable: "db".into(),
                append: true,
                time: "2024-01-01 00:00:00".into(),
                list_digest: "cd".into(),
                signer: "ef".into(),
                created_at: chrono::DateTime::from_timestamp_nanos(5).naive_utc(),
                log_index: Some(7),
            }),
        };
        let json = serde_json::to_value(&added).unwrap();
        assert_eq!(json["outcome"], "Added");
        assert_eq!(json["kind"], "efi_vars");
        assert_eq!(json["variable"], "db");
        assert_eq!(serde_json::from_value::<EfiAdded>(json).unwrap(), added);
    }
}
