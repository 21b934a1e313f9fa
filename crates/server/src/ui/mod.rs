//! The web UI: server-rendered HTML under `/ui`, for people who want to look rather than
//! read JSON.
//!
//! Every page is a plain GET that works without JavaScript; none is sent at all, and the
//! [`CSP`] forbids any. Templates (askama, under `templates/`) are compiled into the binary
//! and escape every value. Pages are rendered into bytes and kept in the server's response
//! cache until the next write, as the JSON listings are. The UI reads only what the
//! registry and the log serve over the API, and never shows the name or description of a
//! file whose deletion is logged.

mod assets;
mod attestations;
mod commands;
mod files;
mod hosts;
mod keys;
mod log;
mod page;
mod plugins;
mod summary;
mod text;

use axum::Router;
use axum::response::Redirect;
use axum::routing::get;

pub use page::CSP;

use crate::app::AppState;

/// The UI's routes, with `/` sending browsers to it.
pub fn router() -> Router<AppState> {
    let ui = Router::new()
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/", get(plugins::list))
        .route("/ui/plugins", get(plugins::list))
        .route("/ui/plugins/{name}", get(plugins::show))
        .route("/ui/plugins/{name}/variants", get(plugins::group))
        .route("/ui/files/{digest}", get(files::show))
        .route("/ui/files/{digest}/tlog-proof", get(files::tlog_proof))
        .route("/ui/log", get(log::show))
        .route("/ui/log/entries", get(log::find))
        .route("/ui/log/entries/{index}", get(log::entry))
        .route("/ui/log/entries/{index}/tlog-proof", get(log::entry_proof))
        .route("/ui/log/consistency", get(log::consistency))
        .route("/ui/attestations/{digest}", get(attestations::show))
        .route("/ui/keys", get(keys::find))
        .route("/ui/keys/{key}", get(keys::show))
        .route("/ui/hosts", get(hosts::list))
        .route("/ui/hosts/{name}", get(hosts::show))
        .route("/ui/scans/{digest}", get(hosts::scan))
        .route("/ui/static/{file}", get(assets::file))
        .route("/", get(|| async { Redirect::to("/ui/") }));
    ui.layer(axum::middleware::from_fn(page::security_headers))
}
