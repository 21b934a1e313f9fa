//! Serving connections: hyper with a timer (header timeout), an idle timeout on the socket,
//! a minimum body rate, and a cap on connections with a clear answer beyond it.

use std::convert::Infallible;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

use crate::body_rate::MinRate;
use crate::idle::{IdleTimeout, InFlight};
use crate::limits::Limits;

/// What a connection beyond the cap is told before it is closed.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 57\r\nretry-after: 1\r\nconnection: close\r\n\r\ntoo many connections: the server's limit is reached; retry";
/// Connections being turned away at once; more are closed without an answer.
const MAX_REJECTING: usize = 64;

/// The service of one connection: the app, with the body rate applied and the request
/// counted as in flight until its response is ready.
#[derive(Clone)]
struct ConnService {
    app: Router,
    in_flight: InFlight,
    limits: Limits,
}

impl<B> tower::Service<Request<B>> for ConnService
where
    B: http_body::Body<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let busy = self.in_flight.enter();
        let (rate, grace) = (self.limits.min_body_rate, self.limits.body_grace);
        let req = req.map(|b| Body::new(MinRate::new(Body::new(b), rate, grace)));
        let app = self.app.clone();
        Box::pin(async move {
            let response = app.oneshot(req).await;
            drop(busy);
            response
        })
    }
}

/// Serves `app` on `listener` until `shutdown`, then lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(100);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let rejecting = Arc::new(Semaphore::new(MAX_REJECTING));
    let graceful = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors, or a connection reset before accept: wait a moment
                    // instead of spinning (what axum::serve did).
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            if let Ok(slot) = rejecting.clone().try_acquire_owned() {
                tokio::spawn(async move {
                    reject(stream).await;
                    drop(slot);
                });
            }
            continue;
        };
        let in_flight = InFlight::default();
        let service = TowerToHyperService::new(ConnService {
            app: app.clone(),
            in_flight: in_flight.clone(),
            limits,
        });
        let io = TokioIo::new(IdleTimeout::new(stream, limits.idle_timeout, in_flight));
        let conn = graceful.watch(
            builder
                .serve_connection_with_upgrades(io, service)
                .into_owned(),
        );
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection closed");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Tells a connection beyond the cap why it is closed, and closes it.
async fn reject(mut stream: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        stream.write_all(BUSY).await?;
        stream.shutdown().await?;
        // Drain what the client sent, so closing does not reset the answer away.
        let mut sink = [0u8; 1024];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    })
    .await;
}
