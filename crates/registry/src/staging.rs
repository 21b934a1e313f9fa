//! Uploads in flight: streamed to a staging file and hashed as bytes arrive.
//!
//! Writing and hashing run on a blocking thread fed through a small bounded channel, so the
//! async reactor never hashes and memory stays bounded by the channel depth whatever the
//! upload size.

use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use sha2::{Digest as _, Sha256};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::digest::Digest;
use crate::error::Error;

/// Chunks buffered between the request and the writer thread.
const CHANNEL_DEPTH: usize = 16;

/// An upload being received. Dropping it removes the staging file.
#[derive(Debug)]
pub struct Upload {
    sender: Option<mpsc::Sender<Bytes>>,
    writer: Option<JoinHandle<std::io::Result<[u8; 32]>>>,
    path: PathBuf,
    size: u64,
    limit: u64,
}

/// A fully received, fsynced upload with its digest. Dropping it removes the file unless it
/// was committed to the blob store.
#[derive(Debug)]
pub struct Staged {
    path: Option<PathBuf>,
    digest: Digest,
    size: u64,
}

impl Upload {
    /// Starts an upload into a fresh file in `dir`, refusing more than `limit` bytes.
    pub(crate) async fn create(dir: &Path, limit: u64) -> Result<Self, Error> {
        let name = format!("{}.part", hex::encode(rand::random::<[u8; 16]>()));
        let path = dir.join(name);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        let (sender, receiver) = mpsc::channel(CHANNEL_DEPTH);
        let writer = tokio::task::spawn_blocking(move || write_all(file, receiver));
        Ok(Upload {
            sender: Some(sender),
            writer: Some(writer),
            path,
            size: 0,
            limit,
        })
    }

    /// Bytes received so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a chunk. Fails with [`Error::TooLarge`] once the limit is passed.
    pub async fn write(&mut self, chunk: Bytes) -> Result<(), Error> {
        self.size = self.size.saturating_add(chunk.len() as u64);
        if self.size > self.limit {
            return Err(Error::TooLarge { limit: self.limit });
        }
        let Some(sender) = &self.sender else {
            return Err(Error::Internal("upload closed".into()));
        };
        if sender.send(chunk).await.is_err() {
            // The writer stopped: its result says why.
            self.sender = None;
            return Err(self
                .join()
                .await
                .err()
                .unwrap_or_else(|| Error::Internal("writer stopped".into())));
        }
        Ok(())
    }

    /// Flushes and fsyncs the file and returns it with its digest.
    pub async fn finish(mut self) -> Result<Staged, Error> {
        self.sender = None;
        let digest = self.join().await?;
        let path = std::mem::take(&mut self.path);
        Ok(Staged {
            path: Some(path),
            digest: Digest::from_bytes(digest),
            size: self.size,
        })
    }

    async fn join(&mut self) -> Result<[u8; 32], Error> {
        let writer = self
            .writer
            .take()
            .ok_or_else(|| Error::Internal("writer joined twice".into()))?;
        Ok(writer.await.map_err(|e| Error::Internal(e.to_string()))??)
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn write_all(
    file: std::fs::File,
    mut receiver: mpsc::Receiver<Bytes>,
) -> std::io::Result<[u8; 32]> {
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, file);
    let mut hasher = Sha256::new();
    while let Some(chunk) = receiver.blocking_recv() {
        hasher.update(&chunk);
        out.write_all(&chunk)?;
    }
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(hasher.finalize().into())
}

impl Staged {
    /// SHA-256 of the content.
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Path of the staging file.
    pub fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new(""))
    }

    /// The staging file's name within the staging directory.
    pub(crate) fn file_name(&self) -> &str {
        self.path()
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
    }

    /// Marks the file as moved into the blob store: dropping no longer removes it.
    pub(crate) fn committed(mut self) {
        self.path = None;
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}
