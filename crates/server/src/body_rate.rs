//! A minimum rate for request bodies: a body that arrives slower than the rate (after a
//! grace period) fails, so a client cannot hold an upload open at a few bytes a second.
//!
//! A rate, not a total: the deadline for the next byte moves forward with every byte
//! received, so a 256 MiB upload over a slow but honest link still completes.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::time::{Instant, Sleep, sleep_until};

/// The error a too-slow body fails with (the upload handler answers it 408).
#[derive(Debug, thiserror::Error)]
#[error("request body arrived slower than {rate} bytes/s")]
pub struct TooSlow {
    /// The minimum rate.
    pub rate: u64,
}

/// A body that must keep up with a minimum rate.
pub struct MinRate {
    inner: Body,
    rate: u64,
    grace: Duration,
    start: Instant,
    received: u64,
    sleep: Pin<Box<Sleep>>,
}

impl MinRate {
    /// Wraps `inner`: after `grace`, at least `rate` bytes per second on average.
    pub fn new(inner: Body, rate: u64, grace: Duration) -> Self {
        let start = Instant::now();
        MinRate {
            inner,
            rate,
            grace,
            start,
            received: 0,
            sleep: Box::pin(sleep_until(start + grace)),
        }
    }

    /// When the bytes received so far stop being enough.
    fn deadline(&self) -> Instant {
        let allowed = Duration::from_secs_f64(self.received as f64 / self.rate.max(1) as f64);
        self.start + self.grace + allowed
    }
}

impl HttpBody for MinRate {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received += data.len() as u64;
                    let deadline = this.deadline();
                    this.sleep.as_mut().reset(deadline);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                if this.sleep.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Some(Err(axum::Error::new(TooSlow { rate: this.rate }))));
                }
                Poll::Pending
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The [`TooSlow`] among an error's sources, if the body failed for being too slow.
pub fn too_slow<'e>(e: &'e (dyn std::error::Error + 'static)) -> Option<&'e TooSlow> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(slow) = err.downcast_ref::<TooSlow>() {
            return Some(slow);
        }
        cur = err.source();
    }
    None
}
