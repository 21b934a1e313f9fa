//! `cairn witness serve`: a [`cairn_witness::Witness`] over HTTP, C2SP tlog-witness's
//! `POST /add-checkpoint`, with the same connection limits as the registry.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use cairn_tlog::witness::{ADD_CHECKPOINT_PATH, MAX_REQUEST_BYTES, SIZE_CONTENT_TYPE};
use cairn_witness::{Refusal, Witness};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::server::ServerError;

/// The witness's routes.
pub fn router(witness: Arc<Witness>) -> Router {
    Router::new()
        .route(ADD_CHECKPOINT_PATH, post(add_checkpoint))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(witness)
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::new())
}

/// `POST /add-checkpoint`: 200 with the cosignature line, or the spec's status (409 with
/// the witness's size as `text/x.tlog.size`).
async fn add_checkpoint(State(w): State<Arc<Witness>>, body: Bytes) -> Response {
    match w.add_checkpoint(&body).await {
        Ok(line) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            )],
            line,
        )
            .into_response(),
        Err(Refusal::Conflict { size }) => (
            StatusCode::CONFLICT,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(SIZE_CONTENT_TYPE),
            )],
            format!("{size}\n"),
        )
            .into_response(),
        Err(r) => {
            let status =
                StatusCode::from_u16(r.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if status.is_server_error() {
                tracing::error!(error = %r, "witness state");
            }
            (status, format!("{r}\n")).into_response()
        }
    }
}

/// A bound witness.
#[derive(Debug)]
pub struct WitnessServer {
    listener: TcpListener,
    witness: Arc<Witness>,
    limits: crate::Limits,
}

impl WitnessServer {
    /// Binds `addr` for `witness`.
    pub async fn bind(
        addr: SocketAddr,
        limits: crate::Limits,
        witness: Witness,
    ) -> Result<Self, ServerError> {
        Ok(WitnessServer {
            listener: crate::server::listen(addr).await?,
            witness: Arc::new(witness),
            limits,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// The witness.
    pub fn witness(&self) -> &Witness {
        &self.witness
    }

    /// Serves until `shutdown` completes.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        crate::connection::serve(self.listener, router(self.witness), self.limits, shutdown).await;
    }
}
