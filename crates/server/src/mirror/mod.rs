//! Mirror mode (`cairn serve --upstream`): the memflow API and the log routes answered from
//! a [`cairn_mirror::Mirror`], which fetches and verifies what it does not hold yet.
//!
//! Writes are refused with 405 and a message naming the upstream: a mirror publishes
//! nothing of its own, so every proof it serves is the upstream's, for the upstream key.
//! With `--allow-local` it does publish, from a registry of its own beside the mirror
//! (see [`local`]).

mod answers;
mod handlers;
mod listing_merge;
pub mod local;
mod serve;

pub use listing_merge::MAX_MERGED_DEPTH;
pub use serve::MirrorServer;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use cairn_mirror::Mirror;
use prometheus_client::registry::Registry as PromRegistry;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

/// What the mirror's handlers share.
#[derive(Debug)]
pub struct MirrorApp {
    /// The mirror.
    pub mirror: Mirror,
    prom: PromRegistry,
}

/// Cheap-to-clone handle on [`MirrorApp`], the axum state of mirror mode.
#[derive(Clone, Debug)]
pub struct MirrorState(pub Arc<MirrorApp>);

impl MirrorState {
    /// The state of a server over `mirror`, its metrics registered.
    pub fn new(mirror: Mirror) -> Self {
        let mut prom = PromRegistry::with_prefix("cairn");
        mirror.metrics().register(&mut prom);
        MirrorState(Arc::new(MirrorApp { mirror, prom }))
    }
}

impl std::ops::Deref for MirrorState {
    type Target = MirrorApp;
    fn deref(&self) -> &MirrorApp {
        &self.0
    }
}

/// Every route of a mirror.
pub fn router(state: MirrorState) -> Router {
    use handlers as h;
    Router::new()
        .route("/health", get(h::health))
        .route("/ready", get(h::ready))
        .route("/metrics", get(h::metrics))
        .route("/plugins", get(h::listing))
        .route("/plugins/{name}", get(h::listing))
        .route("/files", axum::routing::post(h::refuse_write))
        .route("/files/{digest}", get(h::download).delete(h::refuse_write))
        .route("/files/{digest}/metadata", get(h::metadata))
        .route("/files/{digest}/proof", get(h::proof))
        .route("/log/checkpoint", get(h::checkpoint))
        .route("/log/tile/{*rest}", get(h::tile))
        .route("/log/entries/{index}", get(h::entry))
        .route("/log/proof/inclusion", get(h::inclusion))
        .route("/log/proof/consistency", get(h::consistency))
        .fallback(h::not_mirrored)
        .with_state(state)
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::new())
}
