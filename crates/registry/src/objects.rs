//! Object storage for a scaled-out registry: an S3-compatible bucket (`s3://bucket/prefix`)
//! holding blobs, attestations and log tiles, shared by every instance.
//!
//! Writes of immutable objects are conditional (`If-None-Match: *`), so two instances never
//! overwrite each other: content-addressed objects and full log tiles are the same bytes
//! whoever writes them, and a different object under an existing name is refused as an error
//! rather than silently replacing what readers already trust.

use std::sync::Arc;

use bytes::Bytes;
use object_store::aws::{AmazonS3Builder, S3ConditionalPut, S3CopyIfNotExists};
use object_store::path::Path as StorePath;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, PutMode, PutOptions, PutPayload};

use crate::error::Error;

/// Opens `s3://bucket[/prefix]`, with credentials and region from the usual `AWS_*`
/// variables and, for stores other than AWS, an explicit endpoint (`http://` is allowed
/// there, for a store on loopback or a private network).
pub fn open_s3(url: &str, endpoint: Option<&str>) -> Result<Arc<dyn ObjectStore>, Error> {
    let bad = |why: &str| Error::Config(format!("object store {url:?}: {why}"));
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| bad("only s3://bucket/prefix is supported"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(bad("the bucket name is missing"));
    }
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_conditional_put(S3ConditionalPut::ETagMatch)
        .with_copy_if_not_exists(S3CopyIfNotExists::Multipart);
    if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none()
    {
        builder = builder.with_region("us-east-1");
    }
    if let Some(endpoint) = endpoint {
        builder = builder
            .with_endpoint(endpoint)
            .with_allow_http(endpoint.starts_with("http://"))
            .with_virtual_hosted_style_request(false);
    }
    let store: Arc<dyn ObjectStore> = Arc::new(builder.build().map_err(|e| bad(&e.to_string()))?);
    let prefix = prefix.trim_matches('/');
    Ok(if prefix.is_empty() {
        store
    } else {
        Arc::new(PrefixStore::new(store, prefix))
    })
}

/// Whether an object under `name` never changes once written: everything but the log's
/// `checkpoint` and its partial tiles (`….p/<W>`), which a growing log rewrites.
fn is_immutable(name: &str) -> bool {
    name != "checkpoint" && !name.contains(".p/")
}

/// Writes an immutable object with `If-None-Match: *`. An existing object with the same
/// bytes is success (another instance got there first); different bytes are an error.
pub async fn put_once(
    store: &dyn ObjectStore,
    path: &StorePath,
    bytes: Bytes,
) -> Result<(), object_store::Error> {
    let options = PutOptions {
        mode: PutMode::Create,
        ..PutOptions::default()
    };
    match store
        .put_opts(path, PutPayload::from_bytes(bytes.clone()), options)
        .await
    {
        Ok(_) => Ok(()),
        Err(object_store::Error::AlreadyExists { .. }) => {
            let existing = store.get(path).await?.bytes().await?;
            if existing == bytes {
                Ok(())
            } else {
                Err(object_store::Error::Generic {
                    store: "cairn",
                    source: format!("{path} already exists with different content").into(),
                })
            }
        }
        Err(e) => Err(e),
    }
}

/// An object store seen through the log's blocking [`cairn_tlog::store::TileStore`]
/// interface, under a prefix (`log/`, `attestations/`).
///
/// Its calls block on the runtime: they must come from a thread outside it (the log
/// writer's thread, `spawn_blocking`), never from an async task.
#[derive(Clone, Debug)]
pub struct BlockingObjects {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    runtime: tokio::runtime::Handle,
}

impl BlockingObjects {
    /// Objects of `store` under `prefix/`, driven by `runtime`.
    pub fn new(store: Arc<dyn ObjectStore>, prefix: &str, runtime: tokio::runtime::Handle) -> Self {
        BlockingObjects {
            store,
            prefix: prefix.trim_matches('/').to_owned(),
            runtime,
        }
    }

    fn path(&self, rel: &str) -> std::io::Result<StorePath> {
        // Only paths Cairn builds reach here; refuse anything that could escape the prefix.
        if rel
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Err(std::io::Error::other(format!("refusing path {rel:?}")));
        }
        Ok(StorePath::from(format!("{}/{rel}", self.prefix)))
    }
}

fn io(e: object_store::Error) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl cairn_tlog::store::TileStore for BlockingObjects {
    fn has_any(&self, prefix: &str) -> std::io::Result<bool> {
        use futures::StreamExt as _;
        let path = self.path(prefix.trim_end_matches('/'))?;
        self.runtime.block_on(async {
            // A listing is by path segments: look under the path itself and its partials.
            for dir in [path.clone(), StorePath::from(format!("{path}.p"))] {
                if let Some(first) = self.store.list(Some(&dir)).next().await {
                    first.map_err(io)?;
                    return Ok(true);
                }
            }
            match self.store.head(&path).await {
                Ok(_) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(io(e)),
            }
        })
    }

    fn read(&self, rel: &str) -> std::io::Result<Option<Vec<u8>>> {
        let path = self.path(rel)?;
        self.runtime.block_on(async {
            match self.store.get(&path).await {
                Ok(r) => Ok(Some(r.bytes().await.map_err(io)?.to_vec())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(io(e)),
            }
        })
    }

    fn write(&self, rel: &str, bytes: &[u8]) -> std::io::Result<()> {
        let path = self.path(rel)?;
        let bytes = Bytes::copy_from_slice(bytes);
        self.runtime.block_on(async {
            if is_immutable(rel) {
                put_once(&*self.store, &path, bytes).await.map_err(io)
            } else {
                // A single PUT replaces the object atomically: readers see old or new.
                self.store
                    .put(&path, PutPayload::from_bytes(bytes))
                    .await
                    .map(|_| ())
                    .map_err(io)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_s3_urls_with_a_bucket_are_taken() {
        for (url, why) in [
            ("gs://bucket", "only s3://"),
            ("/var/lib/cairn", "only s3://"),
            ("s3://", "bucket name is missing"),
            ("s3:///prefix", "bucket name is missing"),
        ] {
            let err = open_s3(url, None).err().map(|e| e.to_string());
            assert!(
                err.as_deref().is_some_and(|e| e.contains(why)),
                "{url}: {err:?}"
            );
        }
    }

    #[test]
    fn only_the_checkpoint_and_partial_tiles_are_mutable() {
        assert!(!is_immutable("checkpoint"));
        assert!(!is_immutable("tile/0/x001/234.p/7"));
        assert!(!is_immutable("tile/entries/000.p/255"));
        assert!(is_immutable("tile/0/x001/234"));
        assert!(is_immutable("tile/entries/000"));
        assert!(is_immutable("sha256/ab/abcdef"));
    }
}
