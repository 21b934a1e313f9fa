//! An inactivity timeout on a connection's socket, suspended while a request is in flight.
//!
//! hyper times out request headers, but not a client that connects and never sends a byte
//! (hyper-util's protocol detection waits without a timer), nor an idle HTTP/2 connection.
//! This wrapper fails the socket once no byte moved for the idle time and no request is being
//! handled (a handler may legitimately take long, e.g. waiting for the log).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep, sleep_until};

/// Requests in flight on one connection.
#[derive(Clone, Debug, Default)]
pub struct InFlight(Arc<AtomicUsize>);

/// Held while a request is handled.
#[derive(Debug)]
pub struct Busy(Arc<AtomicUsize>);

impl InFlight {
    /// Marks a request in flight until the guard drops.
    pub fn enter(&self) -> Busy {
        self.0.fetch_add(1, Ordering::Relaxed);
        Busy(self.0.clone())
    }

    fn any(&self) -> bool {
        self.0.load(Ordering::Relaxed) > 0
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A socket that fails with `TimedOut` after `idle` without traffic or requests.
#[derive(Debug)]
pub struct IdleTimeout<T> {
    inner: T,
    idle: Duration,
    last: Instant,
    sleep: Pin<Box<Sleep>>,
    in_flight: InFlight,
}

impl<T> IdleTimeout<T> {
    /// Wraps `inner`; `in_flight` is the connection's request counter.
    pub fn new(inner: T, idle: Duration, in_flight: InFlight) -> Self {
        let now = Instant::now();
        IdleTimeout {
            inner,
            idle,
            last: now,
            sleep: Box::pin(sleep_until(now + idle)),
            in_flight,
        }
    }

    /// Ready with an error once the connection has been idle too long. The timer is re-armed
    /// only when it fires, so traffic costs no timer updates.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        while self.sleep.as_mut().poll(cx).is_ready() {
            if self.in_flight.any() {
                self.last = Instant::now();
            }
            let deadline = self.last + self.idle;
            if Instant::now() >= deadline {
                return Poll::Ready(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "connection idle for too long",
                ));
            }
            self.sleep.as_mut().reset(deadline);
        }
        Poll::Pending
    }

    fn progress<R>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        match r {
            Poll::Pending => self.poll_idle(cx).map(Err),
            ready => {
                self.last = Instant::now();
                ready
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleTimeout<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        this.progress(cx, r)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, b);
        this.progress(cx, r)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        b: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write_vectored(cx, b);
        this.progress(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
