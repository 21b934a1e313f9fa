//! A whole blob, checked against its digest as it streams: the last chunk is held back
//! until the bytes are known to hash to the name, so a corrupted blob is never delivered
//! whole under its digest (the body is cut short instead, and nothing caches it).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use futures::stream::BoxStream;
use sha2::{Digest as _, Sha256};

use crate::digest::Digest;
use crate::error::Error;

/// The checking stream.
pub(crate) struct CheckedRead {
    inner: BoxStream<'static, Result<Bytes, Error>>,
    digest: Digest,
    size: u64,
    hasher: Sha256,
    seen: u64,
    held: Option<Bytes>,
    done: bool,
    started: bool,
}

impl CheckedRead {
    /// Checks `inner`, the whole blob of `size` bytes named `digest`.
    pub(crate) fn new(
        inner: BoxStream<'static, Result<Bytes, Error>>,
        digest: Digest,
        size: u64,
    ) -> Self {
        CheckedRead {
            inner,
            digest,
            size,
            hasher: Sha256::new(),
            seen: 0,
            held: None,
            done: false,
            started: false,
        }
    }

    fn verdict(&mut self) -> Option<Result<Bytes, Error>> {
        self.done = true;
        let got: [u8; 32] = std::mem::take(&mut self.hasher).finalize().into();
        if self.seen == self.size && got == *self.digest.as_bytes() {
            return self.held.take().map(Ok);
        }
        tracing::error!(digest = %self.digest, size = self.seen, "stored blob does not hash to its name: not served");
        Some(Err(Error::Corrupt(format!(
            "blob {} does not hash to its name ({} bytes read, {} expected)",
            self.digest, self.seen, self.size
        ))))
    }
}

impl Stream for CheckedRead {
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        // Yield once before the first chunk: hyper flushes the response head when the body
        // is not ready, so the client always sees the status and length before a cut, even
        // for a blob of one chunk whose verdict would otherwise come before the head left
        // (and reach the client as a bare connection reset).
        if !this.started {
            this.started = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        loop {
            match this.inner.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(Some(Ok(chunk))) => {
                    this.hasher.update(&chunk);
                    this.seen += chunk.len() as u64;
                    if let Some(previous) = this.held.replace(chunk) {
                        return Poll::Ready(Some(Ok(previous)));
                    }
                }
                Poll::Ready(None) => return Poll::Ready(this.verdict()),
            }
        }
    }
}
