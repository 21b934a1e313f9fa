//! Moving an embedded installation (SQLite index and a data directory) to a scaled-out one
//! (PostgreSQL and an S3-compatible bucket), and proving the move: every blob is read back
//! from the bucket and hashed, the copied log is audited and must have the source's root,
//! and the new index must reference exactly the digests the old one did.
//!
//! Order: blobs, attestations and tiles first (content-addressed or deterministic: writing
//! them twice is harmless), then the index rows (idempotent), then the log in one
//! transaction, then the bucket's `checkpoint` object. A run that fails before the log
//! transaction can simply be run again; after it, the destination holds the whole registry
//! and a new run refuses it as not empty (what failed then was the final check or the
//! bucket's checkpoint copy, which the first leader writes again).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use cairn_tlog::store::TileStore;
use cairn_tlog::tile::{self, TILE_WIDTH, TileKind, TilePath};
use cairn_tlog::{DirStore, keyfile};
use object_store::ObjectStore;
use object_store::path::Path as StorePath;
use sha2::Digest as _;

use crate::blobs::BlobStore;
use crate::digest::Digest;
use crate::error::Error;
use crate::index::Index;
use crate::objects::{BlockingObjects, put_once};

/// Where a long step stands, for a progress bar.
pub trait Progress: Sync {
    /// A step begins, with `total` units of work.
    fn stage(&self, what: &str, total: u64);
    /// `n` more units are done.
    fn advance(&self, n: u64);
}

/// What to move, and where.
#[derive(Clone, Debug)]
pub struct Migration {
    /// The embedded installation's data directory.
    pub from: PathBuf,
    /// Its log key and origin (the scaled-out instances sign with the same key; it
    /// defaults to the source's).
    pub log: crate::LogKey,
    /// The PostgreSQL URL to move the index and the log to (an empty registry).
    pub database: String,
    /// The bucket to move blobs, attestations and tiles to (`s3://bucket/prefix`).
    pub object_store: String,
    /// Endpoint of a non-AWS S3-compatible store.
    pub s3_endpoint: Option<String>,
}

impl Migration {
    /// The destination database URL without its password, for messages.
    pub fn database_display(&self) -> String {
        redact_password(&self.database)
    }
}

/// `scheme://user:secret@host/db?password=…` → `scheme://user@host/db`.
fn redact_password(url: &str) -> String {
    // The query string may carry the password too (`?password=`): leave it out whole.
    let url = url.split('?').next().unwrap_or_default();
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    let user = userinfo.split(':').next().unwrap_or_default();
    format!("{scheme}://{user}@{host}")
}

/// What was moved and checked.
#[derive(Clone, Debug)]
pub struct Migrated {
    /// Blobs (artifacts and scans) copied and verified.
    pub blobs: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Attestation documents copied.
    pub attestations: u64,
    /// Log entries moved.
    pub entries: u64,
    /// The log root, identical before and after (base64).
    pub root: String,
}

/// Runs blocking storage work (the log's file and tile stores) off the reactor.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
}

/// Moves `m.from` to `m.database` and `m.object_store`, then verifies the result.
pub async fn migrate(m: &Migration, progress: &dyn Progress) -> Result<Migrated, Error> {
    let log_dir = m.from.join("log");
    if !log_dir.join("checkpoint").exists() {
        return Err(Error::Config(format!(
            "{} holds no registry (no log/checkpoint)",
            m.from.display()
        )));
    }
    let verifier = keyfile::load(&m.log.path(&m.from), &m.log.origin())?.verifier();
    let source_log = Arc::new(DirStore::open(&log_dir)?);
    let (log, key) = (source_log.clone(), verifier.clone());
    let verified = blocking(move || Ok(cairn_tlog::verify_log(&log, &key, None)?)).await?;
    let checkpoint = String::from_utf8(verified.checkpoint.clone())
        .map_err(|_| Error::Corrupt("the source checkpoint is not text".into()))?;
    let source = Index::open_sqlite(&m.from.join("index.db")).await?;
    let source_blobs = BlobStore::local(&m.from)?;

    let target = Index::open_postgres(&m.database).await?;
    let pool = target
        .postgres()
        .ok_or_else(|| Error::Internal("not a PostgreSQL index".into()))?
        .clone();
    if !crate::shared_log::is_empty(&pool).await? {
        return Err(Error::Config(
            "the destination database already holds a registry: migrate into an empty one".into(),
        ));
    }
    let store = crate::objects::open_s3(&m.object_store, m.s3_endpoint.as_deref())?;
    if store.head(&StorePath::from("log/checkpoint")).await.is_ok() {
        return Err(Error::Config(format!(
            "{} already holds a log: migrate into an empty bucket or prefix",
            m.object_store
        )));
    }
    let target_blobs = BlobStore::remote(store.clone(), &m.from.join("staging"))?;

    let digests = source.stored_digests().await?;
    let bytes = copy_blobs(&source_blobs, &target_blobs, &digests, progress).await?;
    let attestations = copy_attestations(&m.from.join("attestations"), &*store, progress).await?;
    let tiles: Arc<dyn TileStore> = Arc::new(BlockingObjects::new(
        store.clone(),
        "log",
        tokio::runtime::Handle::current(),
    ));
    copy_tiles(&source_log, &tiles, verified.size, progress).await?;
    let entries = read_entries(&source_log, verified.size).await?;
    progress.stage("indexing log entries", entries.len() as u64);
    let mut deleted = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        crate::registry::journal::apply_logged(&target, i as u64, entry, &mut deleted).await?;
        progress.advance(1);
    }
    crate::shared_log::import(&pool, &entries, &checkpoint, &verifier.to_string()).await?;
    let (out, text) = (tiles.clone(), checkpoint.clone());
    blocking(move || Ok(out.write("checkpoint", text.as_bytes())?)).await?;

    // The proof: bytes, log and index as the source had them.
    progress.stage("verifying blobs", digests.len() as u64);
    for d in &digests {
        if !target_blobs.verify(d).await? {
            return Err(Error::Corrupt(format!("blob {d} did not survive the move")));
        }
        progress.advance(1);
    }
    let (log, key) = (tiles, verifier);
    let moved = blocking(move || {
        Ok(cairn_tlog::verify_log(
            &log,
            &key,
            Some(checkpoint.as_bytes()),
        )?)
    })
    .await?;
    if moved.root != verified.root || moved.size != verified.size {
        return Err(Error::Corrupt("the moved log has another root".into()));
    }
    if target.stored_digests().await? != digests {
        return Err(Error::Corrupt(
            "the rebuilt index references other digests than the source index".into(),
        ));
    }
    Ok(Migrated {
        blobs: digests.len() as u64,
        bytes,
        attestations,
        entries: verified.size,
        root: cairn_tlog::writer::b64(&verified.root),
    })
}

async fn copy_blobs(
    from: &BlobStore,
    to: &BlobStore,
    digests: &[Digest],
    progress: &dyn Progress,
) -> Result<u64, Error> {
    progress.stage("copying blobs", digests.len() as u64);
    let mut bytes = 0;
    for d in digests {
        let read = from
            .read(d, None)
            .await?
            .ok_or_else(|| Error::Corrupt(format!("blob {d} is indexed but missing")))?;
        bytes += to.copy_in(d, read.stream, read.size).await?;
        progress.advance(1);
    }
    Ok(bytes)
}

/// Attestation documents (`sha256/ab/<digest>`), each checked against its name.
async fn copy_attestations(
    dir: &Path,
    to: &dyn ObjectStore,
    progress: &dyn Progress,
) -> Result<u64, Error> {
    let mut files = Vec::new();
    if let Ok(shards) = std::fs::read_dir(dir.join("sha256")) {
        for shard in shards {
            for file in std::fs::read_dir(shard?.path())? {
                let path = file?.path();
                if path.is_file() {
                    files.push(path);
                }
            }
        }
    }
    progress.stage("copying attestations", files.len() as u64);
    let mut documents = 0;
    for path in &files {
        let bytes = tokio::fs::read(path).await?;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        // `<digest>.index`: the log index the document was logged at (so it is never
        // logged twice); the same in the copied log.
        let digest = name.strip_suffix(".index").unwrap_or(&name);
        let sidecar = digest.len() < name.len();
        let valid = if sidecar {
            digest.len() == 64
                && String::from_utf8_lossy(&bytes)
                    .trim()
                    .parse::<u64>()
                    .is_ok()
        } else {
            hex::encode(sha2::Sha256::digest(&bytes)) == name
        };
        if !valid {
            return Err(Error::Corrupt(format!(
                "attestation {} does not hash to its name (or is no log index)",
                path.display()
            )));
        }
        let to_path = StorePath::from(format!("attestations/sha256/{}/{name}", &name[..2]));
        put_once(to, &to_path, Bytes::from(bytes)).await?;
        documents += u64::from(!sidecar);
        progress.advance(1);
    }
    Ok(documents)
}

/// Every tile and entry bundle a log of `size` has.
async fn copy_tiles(
    from: &Arc<DirStore>,
    to: &Arc<dyn TileStore>,
    size: u64,
    progress: &dyn Progress,
) -> Result<(), Error> {
    let paths = tile::tiles_for_size(size);
    progress.stage("copying log tiles", paths.len() as u64);
    for path in paths {
        let (from, to) = (from.clone(), to.clone());
        blocking(move || {
            let name = path.to_string();
            let data = from.read(&name)?.ok_or_else(|| {
                Error::Corrupt(format!("log tile {name} is missing from the source"))
            })?;
            Ok(to.write(&name, &data)?)
        })
        .await?;
        progress.advance(1);
    }
    Ok(())
}

/// All entries of a log of `size`, from its bundles.
pub(crate) async fn read_entries(from: &Arc<DirStore>, size: u64) -> Result<Vec<Vec<u8>>, Error> {
    let from = from.clone();
    blocking(move || {
        let mut entries = Vec::new();
        for index in 0..size.div_ceil(TILE_WIDTH) {
            let width = (size - index * TILE_WIDTH).min(TILE_WIDTH);
            let path = TilePath {
                kind: TileKind::Entries,
                index,
                partial: (width < TILE_WIDTH).then_some(width as u8),
            };
            let data = from
                .read(&path.to_string())?
                .ok_or_else(|| Error::Corrupt(format!("entry bundle {path} is missing")))?;
            entries.extend(tile::decode_bundle(&data)?.into_iter().map(<[u8]>::to_vec));
        }
        Ok(entries)
    })
    .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            super::redact_password("postgres://cairn:s3cr:et@db.example:5432/reg"),
            "postgres://cairn@db.example:5432/reg"
        );
        assert_eq!(
            super::redact_password("postgres://db.example/reg"),
            "postgres://db.example/reg"
        );
        assert_eq!(
            super::redact_password("postgres://cairn@db.example/reg?password=s3cret&x=1"),
            "postgres://cairn@db.example/reg"
        );
    }
}
