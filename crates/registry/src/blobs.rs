//! Content-addressed blobs through `object_store`.
//!
//! Layout under the store root: `blobs/sha256/<first two hex>/<digest>`, and `staging/` for
//! uploads in flight. With the local filesystem backend an upload is committed by a rename
//! inside one filesystem, followed by an fsync of the directories it touched, so a committed
//! blob is whole and durable and a crashed upload never leaves a partial blob.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{GetOptions, GetRange, ObjectStore};

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

/// The blob store.
#[derive(Clone, Debug)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    /// Root directory of the local backend, for the fsyncs `object_store` does not do.
    root: PathBuf,
}

impl BlobStore {
    /// A store on the local filesystem rooted at `root` (created if missing).
    pub fn local(root: &Path) -> Result<Self, Error> {
        std::fs::create_dir_all(root.join("blobs/sha256"))?;
        std::fs::create_dir_all(root.join("staging"))?;
        let store = LocalFileSystem::new_with_prefix(root)?;
        Ok(BlobStore {
            store: Arc::new(store),
            root: root.to_path_buf(),
        })
    }

    /// Directory that staging files are written to (same filesystem as the blobs).
    pub fn staging_dir(&self) -> PathBuf {
        self.root.join("staging")
    }

    fn blob_path(digest: &Digest) -> StorePath {
        let hex = digest.to_hex();
        StorePath::from(format!("blobs/sha256/{}/{hex}", &hex[..2]))
    }

    /// Moves a staged upload into place under its digest and makes it durable.
    pub async fn commit(&self, staged: Staged) -> Result<(), Error> {
        let digest = staged.digest();
        let name = staged.file_name().to_owned();
        let from = StorePath::from(format!("staging/{name}"));
        let to = Self::blob_path(&digest);
        self.store.rename(&from, &to).await?;
        staged.committed();
        let hex = digest.to_hex();
        let dirs = [
            self.root.join("blobs/sha256").join(&hex[..2]),
            self.root.join("blobs/sha256"),
        ];
        tokio::task::spawn_blocking(move || dirs.iter().try_for_each(|d| sync_dir(d)))
            .await
            .map_err(|e| Error::Internal(e.to_string()))??;
        Ok(())
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
        let stream = result.into_stream().map(|r| r.map_err(Error::from)).boxed();
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
