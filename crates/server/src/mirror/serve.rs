//! [`MirrorServer`]: binding and running a mirror.

use std::future::Future;
use std::net::SocketAddr;

use cairn_mirror::{Mirror, MirrorConfig};
use tokio::net::TcpListener;

use super::{MirrorState, router};
use crate::server::ServerError;

/// A bound mirror, ready to serve.
#[derive(Debug)]
pub struct MirrorServer {
    listener: TcpListener,
    state: MirrorState,
    limits: crate::Limits,
}

impl MirrorServer {
    /// Opens the mirror's directory (checking what it holds) and binds the socket.
    pub async fn bind(
        addr: SocketAddr,
        limits: crate::Limits,
        config: MirrorConfig,
    ) -> Result<Self, ServerError> {
        let mirror = tokio::task::spawn_blocking(move || Mirror::open(config))
            .await
            .map_err(|e| ServerError::Io {
                context: "opening the mirror".into(),
                source: std::io::Error::other(e.to_string()),
            })??;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServerError::Io {
                context: format!("binding {addr}"),
                source,
            })?;
        Ok(MirrorServer {
            listener,
            state: MirrorState::new(mirror),
            limits,
        })
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
        let app = router(self.state);
        crate::connection::serve(self.listener, app, self.limits, shutdown).await;
        follow.abort();
        Ok(())
    }
}
