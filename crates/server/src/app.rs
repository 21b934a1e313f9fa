//! Shared state of the HTTP handlers.

use std::sync::Arc;

use cairn_registry::Registry;

use crate::cache::ResponseCache;
use crate::token::BearerToken;

/// Everything a handler may use.
#[derive(Debug)]
pub struct App {
    /// The registry: index, blobs, trusted keys.
    pub registry: Registry,
    /// The write token.
    pub token: BearerToken,
    /// Serialised answers of the hot read routes.
    pub cache: ResponseCache,
    /// Prometheus metrics.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Where this registry's log is routed when not at `/log` (a mirror that also
    /// publishes serves the upstream's log there), told to clients in every proof answer.
    pub log_routes: Option<String>,
}

/// Cheap-to-clone handle on [`App`], the axum state.
#[derive(Clone, Debug)]
pub struct AppState(pub Arc<App>);

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}
