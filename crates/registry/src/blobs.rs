//! Content-addressed blobs through `object_store`.
//!
//! Layout under the store root: `blobs/sha256/<first two hex>/<digest>`, and `staging/` for
//! uploads in flight. With the local filesystem backend an upload is committed by a rename
//! inside one filesystem, followed by an fsync of the directories it touched, so a committed
//! blob is whole and durable and a crashed upload never leaves a partial blob.
//!
//! With a shared object store (S3) uploads still stage in a local directory, where they are
//! hashed and analysed; committing sends the file to the bucket. A small blob is one PUT with
//! `If-None-Match: *`; a large one goes up as a multipart upload under `staging/` and is then
//! copied into place only if no blob of that name exists. Either way a blob appears whole or
//! not at all, and an instance never replaces a blob another one wrote.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{GetOptions, GetRange, ObjectStore, PutPayload, WriteMultipart};

use crate::digest::Digest;
use crate::error::Error;
use crate::staging::Staged;

/// A blob being read: its full size, the range served, and the bytes as a stream.
pub struct BlobRead {
    /// Size of the whole blob.
    pub size: u64,
    /// The byte range the stream covers.
    pub range: Range<u64>,
    /// The bytes, in chunks.
    pub stream: BoxStream<'static, Result<Bytes, Error>>,
}

impl std::fmt::Debug for BlobRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobRead")
            .field("size", &self.size)
            .field("range", &self.range)
            .finish()
    }
}

/// Largest blob sent in one PUT; larger ones use a multipart upload.
const SINGLE_PUT_MAX: u64 = 8 * 1024 * 1024;
/// Part size of multipart uploads, and the read size that feeds them.
const PART_SIZE: usize = 8 * 1024 * 1024;

/// The blob store.
#[derive(Clone, Debug)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    /// Root directory of the local backend, for the fsyncs `object_store` does not do;
    /// `None` for a shared object store.
    root: Option<PathBuf>,
    /// Local directory uploads are received into.
    staging: PathBuf,
}

impl BlobStore {
    /// A store on the local filesystem rooted at `root` (created if missing).
    pub fn local(root: &Path) -> Result<Self, Error> {
        std::fs::create_dir_all(root.join("blobs/sha256"))?;
        std::fs::create_dir_all(root.join("staging"))?;
        let store = LocalFileSystem::new_with_prefix(root)?;
        Ok(BlobStore {
            store: Arc::new(store),
            root: Some(root.to_path_buf()),
            staging: root.join("staging"),
        })
    }

    /// A store in a shared object store, with uploads received into the local `staging`
    /// directory (created if missing).
    pub fn remote(store: Arc<dyn ObjectStore>, staging: &Path) -> Result<Self, Error> {
        std::fs::create_dir_all(staging)?;
        Ok(BlobStore {
            store,
            root: None,
            staging: staging.to_path_buf(),
        })
    }

    /// The object store underneath.
    pub fn objects(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// Directory that staging files are written to (same filesystem as local blobs).
    pub fn staging_dir(&self) -> PathBuf {
        self.staging.clone()
    }

    /// Whether uploads can be taken: a write and a delete in the local staging directory
    /// and, with a shared object store, in the bucket (readiness).
    pub async fn probe(&self) -> bool {
        let name = format!(".ready-probe-{}", hex::encode(rand::random::<[u8; 8]>()));
        let local = self.staging.join(&name);
        // Remove even when the write failed: on a full disk the file is created empty
        // before the write fails, and each probe would leave one behind.
        let wrote = tokio::fs::write(&local, b"ok").await.is_ok();
        let removed = tokio::fs::remove_file(&local).await.is_ok();
        let staging = wrote && removed;
        if !staging || self.root.is_some() {
            return staging;
        }
        let path = StorePath::from(format!("staging/{name}"));
        self.store
            .put(&path, PutPayload::from_static(b"ok"))
            .await
            .is_ok()
            && self.store.delete(&path).await.is_ok()
    }

    fn blob_path(digest: &Digest) -> StorePath {
        let hex = digest.to_hex();
        StorePath::from(format!("blobs/sha256/{}/{hex}", &hex[..2]))
    }

    /// Moves a staged upload into place under its digest and makes it durable.
    pub async fn commit(&self, staged: Staged) -> Result<(), Error> {
        let Some(root) = &self.root else {
            return self.upload(staged).await;
        };
        let digest = staged.digest();
        let name = staged.file_name().to_owned();
        let from = StorePath::from(format!("staging/{name}"));
        let to = Self::blob_path(&digest);
        self.store.rename(&from, &to).await?;
        staged.committed();
        let hex = digest.to_hex();
        let dirs = [
            root.join("blobs/sha256").join(&hex[..2]),
            root.join("blobs/sha256"),
        ];
        tokio::task::spawn_blocking(move || dirs.iter().try_for_each(|d| sync_dir(d)))
            .await
            .map_err(|e| Error::Internal(e.to_string()))??;
        Ok(())
    }

    /// Sends a staged upload to the shared object store (the staging file goes when `staged`
    /// drops).
    async fn upload(&self, staged: Staged) -> Result<(), Error> {
        let to = Self::blob_path(&staged.digest());
        if staged.size() <= SINGLE_PUT_MAX {
            let bytes = tokio::fs::read(staged.path()).await?;
            crate::objects::put_once(&*self.store, &to, Bytes::from(bytes)).await?;
            return Ok(());
        }
        let name = staged.file_name().to_owned();
        let part = StorePath::from(format!("staging/{name}"));
        let result = self.upload_parts(staged.path(), &part).await;
        let result = match result {
            Ok(()) => match self.store.copy_if_not_exists(&part, &to).await {
                // Same name, same digest: another instance stored these very bytes.
                Ok(()) | Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
                Err(e) => Err(e.into()),
            },
            Err(e) => Err(e),
        };
        let _ = self.store.delete(&part).await;
        result
    }

    /// A multipart upload of a local file, a part at a time (memory stays at a few parts).
    async fn upload_parts(&self, file: &Path, to: &StorePath) -> Result<(), Error> {
        use tokio::io::AsyncReadExt;
        let mut file = tokio::fs::File::open(file).await?;
        let upload = self.store.put_multipart(to).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut buf = vec![0u8; PART_SIZE];
        let sent: Result<(), Error> = async {
            loop {
                let n = file.read(&mut buf).await?;
                if n == 0 {
                    return Ok(());
                }
                writer.wait_for_capacity(2).await?;
                writer.write(&buf[..n]);
            }
        }
        .await;
        if let Err(e) = sent {
            // Parts already sent are billed and kept until the upload is aborted.
            let _ = writer.abort().await;
            return Err(e);
        }
        writer.finish().await?;
        Ok(())
    }

    /// Stores a blob read from elsewhere (a migration into a shared object store), hashing
    /// it on the way: bytes that do not hash to `digest` are never stored. Written like an
    /// upload (one conditional PUT, or multipart and a copy-if-absent), so the blob appears
    /// whole or not at all. Returns the bytes copied.
    pub async fn copy_in(
        &self,
        digest: &Digest,
        mut stream: BoxStream<'static, Result<Bytes, Error>>,
        size: u64,
    ) -> Result<u64, Error> {
        use sha2::Digest as _;
        let mut hasher = sha2::Sha256::new();
        let to = Self::blob_path(digest);
        let mismatch = || Error::Corrupt(format!("blob {digest} does not hash to its name"));
        if size <= SINGLE_PUT_MAX {
            let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            while let Some(chunk) = stream.next().await {
                let chunk = chunk?;
                hasher.update(&chunk);
                bytes.extend_from_slice(&chunk);
            }
            if Digest::from_bytes(hasher.finalize().into()) != *digest {
                return Err(mismatch());
            }
            let copied = bytes.len() as u64;
            crate::objects::put_once(&*self.store, &to, Bytes::from(bytes)).await?;
            return Ok(copied);
        }
        let part = StorePath::from(format!(
            "staging/copy-{}",
            hex::encode(rand::random::<[u8; 16]>())
        ));
        let upload = self.store.put_multipart(&part).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut copied = 0u64;
        let sent: Result<(), Error> = async {
            while let Some(chunk) = stream.next().await {
                let chunk = chunk?;
                hasher.update(&chunk);
                copied += chunk.len() as u64;
                writer.wait_for_capacity(2).await?;
                writer.write(&chunk);
            }
            if Digest::from_bytes(hasher.finalize().into()) != *digest {
                return Err(mismatch());
            }
            Ok(())
        }
        .await;
        if let Err(e) = sent {
            let _ = writer.abort().await;
            return Err(e);
        }
        writer.finish().await?;
        let copy = match self.store.copy_if_not_exists(&part, &to).await {
            Ok(()) | Err(object_store::Error::AlreadyExists { .. }) => Ok(copied),
            Err(e) => Err(e.into()),
        };
        let _ = self.store.delete(&part).await;
        copy
    }

    /// Reads a stored blob whole and checks that it hashes to its name.
    pub async fn verify(&self, digest: &Digest) -> Result<bool, Error> {
        use sha2::Digest as _;
        let Some(mut read) = self.read(digest, None).await? else {
            return Ok(false);
        };
        let mut hasher = sha2::Sha256::new();
        while let Some(chunk) = read.stream.next().await {
            match chunk {
                Ok(c) => hasher.update(&c),
                // The whole read is checked as it streams (see `checked_read`).
                Err(Error::Corrupt(_)) => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        Ok(Digest::from_bytes(hasher.finalize().into()) == *digest)
    }

    /// Reads a blob, or a byte range of it. `None` when the blob is absent.
    pub async fn read(
        &self,
        digest: &Digest,
        range: Option<Range<u64>>,
    ) -> Result<Option<BlobRead>, Error> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = match self.store.get_opts(&Self::blob_path(digest), options).await {
            Ok(r) => r,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let size = result.meta.size;
        let range = result.range.clone();
        let mut stream = result.into_stream().map(|r| r.map_err(Error::from)).boxed();
        // A whole read is checked against the digest; a range cannot be.
        if range == (0..size) {
            stream = crate::checked_read::CheckedRead::new(stream, *digest, size).boxed();
        }
        Ok(Some(BlobRead {
            size,
            range,
            stream,
        }))
    }

    /// Deletes a blob; deleting an absent blob is not an error.
    pub async fn delete(&self, digest: &Digest) -> Result<(), Error> {
        match self.store.delete(&Self::blob_path(digest)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// fsync of a directory, so a rename or create inside it survives power loss.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}
