//! [`MirrorServer`]: binding and running a mirror.

use std::future::Future;
use std::net::SocketAddr;

use cairn_mirror::{Mirror, MirrorConfig};
use tokio::net::TcpListener;

use super::{MirrorState, router};
use crate::app::AppState;
use crate::config::ServerConfig;
use crate::server::ServerError;
use crate::token::TokenSource;

/// A bound mirror, ready to serve.
#[derive(Debug)]
pub struct MirrorServer {
    listener: TcpListener,
    state: MirrorState,
    local: Option<(AppState, TokenSource)>,
    limits: crate::Limits,
}

impl MirrorServer {
    /// Opens the mirror's directory (checking what it holds) and binds the socket. With
    /// `local` (`--allow-local`), the registry it configures publishes the mirror's own
    /// plugins beside the mirrored ones, its log routed at
    /// [`super::local::LOCAL_LOG_ROUTES`].
    pub async fn bind(
        addr: SocketAddr,
        limits: crate::Limits,
        config: MirrorConfig,
        local: Option<ServerConfig>,
    ) -> Result<Self, ServerError> {
        let mirror = tokio::task::spawn_blocking(move || Mirror::open(config))
            .await
            .map_err(|e| ServerError::Io {
                context: "opening the mirror".into(),
                source: std::io::Error::other(e.to_string()),
            })??;
        let local = match local {
            Some(config) => Some(
                crate::server::open_app(
                    config,
                    Some(super::local::LOCAL_LOG_ROUTES.to_owned()),
                    Some(mirror.metrics()),
                )
                .await?,
            ),
            None => None,
        };
        let listener = crate::server::listen(addr).await?;
        Ok(MirrorServer {
            listener,
            state: MirrorState::new(mirror),
            local,
            limits,
        })
    }

    /// The registry of the mirror's own plugins and where its token came from, with
    /// `--allow-local`.
    pub fn local(&self) -> Option<&(AppState, TokenSource)> {
        self.local.as_ref()
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// The shared state.
    pub fn state(&self) -> &MirrorState {
        &self.state
    }

    /// Serves until `shutdown` completes. The upstream's checkpoint is taken at start when
    /// it answers; with `mirror_log`, every entry bundle is kept, and kept up with.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let state = self.state.clone();
        let follow = tokio::spawn(async move {
            loop {
                let m = &state.mirror;
                match m.refresh().await {
                    Ok(()) if m.config().mirror_log => {
                        if let Err(e) = m.keep_log().await {
                            tracing::warn!(error = %e, "keeping the upstream log");
                        }
                    }
                    Ok(()) => {}
                    Err(e) => tracing::warn!(error = %e, "refreshing the upstream checkpoint"),
                }
                tokio::time::sleep(m.config().listing_ttl).await;
            }
        });
        let app = match self.local {
            Some((local, _)) => super::local::router(self.state, local),
            None => router(self.state),
        };
        crate::connection::serve(self.listener, app, self.limits, shutdown).await;
        follow.abort();
        Ok(())
    }
}
