//! Binding and running the server.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use cairn_registry::Registry;
use tokio::net::TcpListener;

use crate::app::{App, AppState};
use crate::config::ServerConfig;
use crate::router::router;
use crate::token::{BearerToken, TokenSource};

/// Why the server could not start or stopped.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Opening the registry failed.
    #[error(transparent)]
    Registry(#[from] cairn_registry::Error),
    /// Opening the mirror failed.
    #[error(transparent)]
    Mirror(#[from] cairn_mirror::Error),
    /// Binding or serving failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A bound, ready server.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    state: AppState,
    token_source: TokenSource,
    limits: crate::Limits,
}

impl Server {
    /// Opens the registry and binds the socket.
    pub async fn bind(config: ServerConfig) -> Result<Self, ServerError> {
        let limits = config.limits;
        let listener = listen(config.addr).await?;
        let (state, token_source) = open_app(config, None, None).await?;
        Ok(Server {
            listener,
            state,
            token_source,
            limits,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Where the token came from (a generated token's text is shown once at start).
    pub fn token_source(&self) -> &TokenSource {
        &self.token_source
    }

    /// The shared state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let app = router(self.state);
        crate::connection::serve(self.listener, app, self.limits, shutdown).await;
        Ok(())
    }
}

/// Binds `addr`.
pub(crate) async fn listen(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Io {
            context: format!("binding {addr}"),
            source,
        })
}

/// Opens the registry of `config` and its token: the state of a registry's handlers.
/// `log_routes` is where its log is routed when not at `/log`; `mirror` adds a mirror's
/// counters to its metrics.
pub(crate) async fn open_app(
    config: ServerConfig,
    log_routes: Option<String>,
    mirror: Option<&cairn_mirror::MirrorMetrics>,
) -> Result<(AppState, TokenSource), ServerError> {
    let data_dir = config.registry.data_dir.clone();
    let registry = Registry::open(config.registry).await?;
    let (token, token_source) = match config.token {
        Some(token) => (token, TokenSource::Configured),
        None => BearerToken::load_or_generate(&data_dir).map_err(|source| ServerError::Io {
            context: "reading or creating the token file".into(),
            source,
        })?,
    };
    let metrics = crate::metrics::Metrics::new(&registry, mirror);
    let state = AppState(Arc::new(App {
        registry,
        token,
        cache: Default::default(),
        metrics,
        log_routes,
    }));
    Ok((state, token_source))
}
