//! Every route in one place.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::app::AppState;
use crate::handlers::{
    efi, files, health, hosts, log, packages, plugins, policies, scans, search, upload,
};

/// Builds the application.
pub fn router(state: AppState) -> Router {
    // memflow-registry compatible routes.
    let memflow = Router::new()
        .route("/health", get(health::health))
        .route("/plugins", get(plugins::list))
        .route("/plugins/{name}", get(plugins::find))
        // Uploads enforce their own streaming limit and answer 413 beyond it.
        .route(
            "/files",
            post(upload::upload).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/files/{digest}",
            get(files::download).delete(files::delete),
        )
        .route("/files/{digest}/metadata", get(files::metadata));
    // Cairn additions.
    let cairn = Router::new()
        .route("/ready", get(health::ready))
        .route("/metrics", get(crate::metrics::metrics))
        .route(
            "/scans",
            get(scans::list)
                .post(scans::upload)
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/scans/{digest}", get(scans::download))
        .route("/scans/{digest}/proof", get(log::scan_proof))
        .route("/scans/{digest}/report", get(scans::report))
        .route("/hosts", get(hosts::list).post(hosts::add))
        .route("/hosts/{name}", get(hosts::show))
        .route(
            "/hosts/{name}/baseline",
            axum::routing::put(hosts::set_baseline),
        )
        .route("/files/{digest}/proof", get(log::artifact_proof))
        .route(
            "/packages",
            get(packages::list)
                .post(packages::upload)
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/packages/{name}", get(packages::find))
        .route(
            "/packages/{name}/{version}",
            get(packages::show).delete(packages::delete),
        )
        .route("/packages/{name}/{version}/proof", get(packages::proof))
        .route("/packages/{name}/{version}/{file}", get(packages::download))
        .route("/efi", get(efi::list))
        .route(
            "/efi/images",
            post(efi::upload_image).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/efi/vars",
            post(efi::upload_vars).layer(DefaultBodyLimit::disable()),
        )
        .route("/efi/{digest}", get(efi::download))
        .route("/efi/{digest}/proof", get(efi::proof))
        .route("/log/checkpoint", get(log::checkpoint))
        .route("/log/tile/{*rest}", get(log::tile))
        .route("/log/entries/{index}", get(log::entry))
        .route(
            "/log/entries",
            axum::routing::post(log::submit).layer(DefaultBodyLimit::max(
                cairn_registry::attestation::MAX_ATTESTATION_BYTES,
            )),
        )
        .route("/attestations/{digest}", get(log::attestation))
        .route("/attestations/{digest}/entry", get(log::attestation_entry))
        .route("/log/search", get(search::search))
        .route(
            "/policies",
            get(policies::list)
                .post(policies::publish)
                .layer(DefaultBodyLimit::max(cairn_api::MAX_POLICY_BYTES)),
        )
        .route("/policies/{version}", get(policies::show))
        .route("/log/proof/inclusion", get(log::inclusion))
        .route("/log/proof/consistency", get(log::consistency));
    memflow
        .merge(cairn)
        .merge(crate::ui::router())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::count_requests,
        ))
        .with_state(state)
        .layer(TraceLayer::new_for_http())
        // A bug must cost one request a 500, never the connection or the process.
        .layer(CatchPanicLayer::new())
}
