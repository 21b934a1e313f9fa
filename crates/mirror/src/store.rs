//! [`Store`]: the artifacts a mirror verified, each a blob and its record.
//!
//! `<dir>/files/<digest>` holds the bytes and `<digest>.json` the record (log index,
//! entry, verified metadata), written after the blob: the record is the commit point, so a
//! crash leaves either nothing or a blob without a record, which is never served and is
//! replaced by the next fetch. Downloads are staged in `<dir>/staging`, emptied at start.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use cairn_api::PluginMetadata;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// What the mirror verified about one artifact.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Record {
    /// Its entry's index in the upstream log.
    pub index: u64,
    /// The entry, as logged.
    pub entry: serde_json::Value,
    /// The metadata made from the bytes and the entry (equal to the upstream's answer).
    pub metadata: PluginMetadata,
}

/// The verified artifacts on disk, their records also in memory.
#[derive(Debug)]
pub struct Store {
    files: PathBuf,
    staging: PathBuf,
    records: RwLock<HashMap<String, Arc<Record>>>,
}

/// Writes `bytes` to `path` whole or not at all: a temporary file, fsynced, renamed, and
/// the directory fsynced.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(dir)?.sync_all()
}

impl Store {
    /// Opens `dir`, empties its staging directory and reads every record.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        let files = dir.join("files");
        let staging = dir.join("staging");
        let _ = std::fs::remove_dir_all(&staging);
        for d in [&files, &staging] {
            std::fs::create_dir_all(d).map_err(Error::io(format!("creating {}", d.display())))?;
        }
        let mut records = HashMap::new();
        let listing = std::fs::read_dir(&files).map_err(Error::io("reading the mirror's files"))?;
        for e in listing {
            let e = e.map_err(Error::io("reading the mirror's files"))?;
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(digest) = name.strip_suffix(".json") else {
                continue;
            };
            let bytes = std::fs::read(e.path()).map_err(Error::io(format!("reading {name}")))?;
            let record: Record = serde_json::from_slice(&bytes)
                .map_err(|err| Error::Damaged(format!("record {name}: {err}")))?;
            if files.join(digest).is_file() {
                records.insert(digest.to_owned(), Arc::new(record));
            }
        }
        Ok(Store {
            files,
            staging,
            records: RwLock::new(records),
        })
    }

    /// The record of `digest`, if the mirror holds it.
    pub fn record(&self, digest: &str) -> Option<Arc<Record>> {
        self.records
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(digest)
            .cloned()
    }

    /// How many artifacts are held.
    pub(crate) fn len(&self) -> usize {
        self.records
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// Where the bytes of a held artifact are.
    pub fn blob(&self, digest: &str) -> PathBuf {
        self.files.join(digest)
    }

    /// A new staging file.
    pub fn stage(&self) -> Result<tempfile::NamedTempFile, Error> {
        tempfile::NamedTempFile::new_in(&self.staging).map_err(Error::io("creating a staging file"))
    }

    /// Forgets a held artifact (its deletion is logged upstream): the record first, so a
    /// crash between leaves an unserved blob that the next fetch replaces.
    pub fn remove(&self, digest: &str) -> Result<bool, Error> {
        let held = self
            .records
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(digest)
            .is_some();
        if held {
            let record = self.files.join(format!("{digest}.json"));
            std::fs::remove_file(&record).map_err(Error::io("forgetting a deleted artifact"))?;
            let _ = std::fs::remove_file(self.blob(digest));
        }
        Ok(held)
    }

    /// Keeps a verified artifact: the blob, then its record.
    pub fn commit(
        &self,
        digest: &str,
        staged: tempfile::NamedTempFile,
        record: Record,
    ) -> Result<Arc<Record>, Error> {
        staged
            .as_file()
            .sync_all()
            .map_err(Error::io("writing the download"))?;
        staged
            .persist(self.blob(digest))
            .map_err(|e| Error::io("keeping the download")(e.error))?;
        let json = serde_json::to_vec(&record).map_err(|e| Error::Damaged(e.to_string()))?;
        write_atomically(&self.files.join(format!("{digest}.json")), &json)
            .map_err(Error::io("keeping the record"))?;
        let record = Arc::new(record);
        self.records
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(digest.to_owned(), record.clone());
        Ok(record)
    }
}
