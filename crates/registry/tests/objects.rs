//! The S3 object store against a real S3-compatible server (moto, started by the test):
//! conditional writes, immutable log tiles, and blobs that must hash to their name.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use bytes::Bytes;
use cairn_registry::objects::{BlockingObjects, open_s3, put_once};
use cairn_registry::{BlobStore, Digest, Error};
use cairn_tlog::store::TileStore;
use futures::StreamExt as _;
use object_store::ObjectStore;
use object_store::path::Path as StorePath;
use sha2::Digest as _;

async fn bucket() -> cairn_testkit::s3::Bucket {
    cairn_testkit::s3::assert_credentials_in_env();
    cairn_testkit::s3::bucket().await
}

async fn read(store: &dyn ObjectStore, path: &str) -> Option<Bytes> {
    match store.get(&StorePath::from(path)).await {
        Ok(r) => Some(r.bytes().await.unwrap()),
        Err(object_store::Error::NotFound { .. }) => None,
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_once_written_is_never_replaced() {
    let b = bucket().await;
    let store = open_s3(&format!("{}/some/prefix", b.url), Some(&b.endpoint)).unwrap();
    let path = StorePath::from("blobs/x");
    put_once(&*store, &path, Bytes::from_static(b"first"))
        .await
        .unwrap();
    // The same bytes again: another instance got there first, which is fine.
    put_once(&*store, &path, Bytes::from_static(b"first"))
        .await
        .unwrap();
    // Other bytes under the same name: refused, and the original stays.
    let refused = put_once(&*store, &path, Bytes::from_static(b"other")).await;
    assert!(
        refused
            .unwrap_err()
            .to_string()
            .contains("different content")
    );
    assert_eq!(read(&*store, "blobs/x").await.unwrap(), "first");
    // The prefix is where the objects are.
    let root = open_s3(&b.url, Some(&b.endpoint)).unwrap();
    assert_eq!(read(&*root, "some/prefix/blobs/x").await.unwrap(), "first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_log_tiles_are_immutable_partial_ones_and_the_checkpoint_grow() {
    let b = bucket().await;
    let store = open_s3(&b.url, Some(&b.endpoint)).unwrap();
    let tiles = BlockingObjects::new(store.clone(), "log", tokio::runtime::Handle::current());
    tokio::task::spawn_blocking(move || {
        assert_eq!(tiles.read("tile/0/000").unwrap(), None);
        tiles.write("tile/0/000", b"full").unwrap();
        tiles.write("tile/0/000", b"full").unwrap();
        let err = tiles.write("tile/0/000", b"fork").unwrap_err();
        assert!(err.to_string().contains("different content"), "{err}");
        assert_eq!(tiles.read("tile/0/000").unwrap().unwrap(), b"full");
        // A growing log rewrites its partial tiles and its checkpoint.
        tiles.write("tile/0/001.p/5", b"five").unwrap();
        tiles.write("tile/0/001.p/5", b"again").unwrap();
        tiles.write("checkpoint", b"one").unwrap();
        tiles.write("checkpoint", b"two").unwrap();
        assert_eq!(tiles.read("checkpoint").unwrap().unwrap(), b"two");
        // Nothing escapes the prefix.
        for bad in ["../blobs/x", "tile//0", "./checkpoint", ""] {
            assert!(tiles.read(bad).is_err(), "{bad:?}");
            assert!(tiles.write(bad, b"x").is_err(), "{bad:?}");
        }
    })
    .await
    .unwrap();
    assert_eq!(read(&*store, "log/tile/0/000").await.unwrap(), "full");
}

fn digest_of(bytes: &[u8]) -> Digest {
    Digest::from_bytes(sha2::Sha256::digest(bytes).into())
}

fn chunks(bytes: &[u8]) -> futures::stream::BoxStream<'static, Result<Bytes, Error>> {
    let parts: Vec<Result<Bytes, Error>> = bytes
        .chunks(1 << 20)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    futures::stream::iter(parts).boxed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copied_blob_must_hash_to_its_name() {
    let b = bucket().await;
    let store = open_s3(&b.url, Some(&b.endpoint)).unwrap();
    let staging = tempfile::tempdir().unwrap();
    let blobs = BlobStore::remote(store.clone(), staging.path()).unwrap();
    // Small (one PUT) and large (multipart, then copy-if-absent).
    for size in [1000usize, 9 << 20] {
        let bytes: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let right = digest_of(&bytes);
        let wrong = digest_of(b"something else");
        let err = blobs
            .copy_in(&wrong, chunks(&bytes), size as u64)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Corrupt(_)), "{err}");
        assert!(
            !blobs.verify(&wrong).await.unwrap(),
            "a mislabelled blob was stored"
        );
        assert_eq!(
            blobs
                .copy_in(&right, chunks(&bytes), size as u64)
                .await
                .unwrap(),
            size as u64
        );
        // Twice: the blob exists, the second copy changes nothing.
        blobs
            .copy_in(&right, chunks(&bytes), size as u64)
            .await
            .unwrap();
        assert!(blobs.verify(&right).await.unwrap());
    }
    // No multipart leftovers in the bucket's staging area.
    let left: Vec<_> = store
        .list(Some(&StorePath::from("staging")))
        .collect::<Vec<_>>()
        .await;
    assert!(left.is_empty(), "{left:?}");
    let _ = Arc::clone(&store);
}
