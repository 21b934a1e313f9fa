//! Prometheus metrics: request rates by route and status, upload bytes, log queue depth and
//! sequencing latency, served as OpenMetrics text at `GET /metrics`.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry as PromRegistry;

use crate::app::AppState;
use crate::error::ApiError;

/// Labels of a request counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// HTTP method.
    pub method: String,
    /// The route pattern (`/files/{digest}`), never the raw path: bounded cardinality.
    pub route: String,
    /// Status code.
    pub status: u16,
}

/// The server's metrics and the registry they are encoded from.
#[derive(Debug)]
pub struct Metrics {
    registry: PromRegistry,
    requests: Family<RequestLabels, Counter>,
    queue_depth: Gauge,
    log_size: Gauge,
    cache_bytes: Gauge,
}

impl Metrics {
    /// Registers the server's metrics, the registry's own and, on a mirror that also
    /// publishes, the mirror's.
    pub fn new(
        registry: &cairn_registry::Registry,
        mirror: Option<&cairn_mirror::MirrorMetrics>,
    ) -> Arc<Self> {
        let mut prom = PromRegistry::with_prefix("cairn");
        if let Some(m) = mirror {
            m.register(&mut prom);
        }
        let requests = Family::<RequestLabels, Counter>::default();
        prom.register("http_requests", "HTTP requests answered", requests.clone());
        let queue_depth = Gauge::default();
        prom.register(
            "log_queue_depth",
            "Log entries waiting for the sequencer",
            queue_depth.clone(),
        );
        let log_size = Gauge::default();
        prom.register(
            "log_entries",
            "Entries in the published log",
            log_size.clone(),
        );
        let cache_bytes = Gauge::default();
        prom.register(
            "listing_cache_bytes",
            "Bytes held by the listing cache (keys and bodies)",
            cache_bytes.clone(),
        );
        let own = registry.metrics();
        prom.register(
            "upload_bytes",
            "Upload bytes received, accepted or not",
            own.upload_bytes.clone(),
        );
        prom.register(
            "scan_anomalies",
            "Anomalies in each host's newest scan against its baseline, by kind",
            own.scan_anomalies.clone(),
        );
        prom.register(
            "log_sequencing_seconds",
            "Seconds from submitting a log entry to the checkpoint covering it",
            own.sequencing.clone(),
        );
        Arc::new(Metrics {
            registry: prom,
            requests,
            queue_depth,
            log_size,
            cache_bytes,
        })
    }
}

/// Counts every answered request by method, route pattern and status.
pub async fn count_requests(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

/// `GET /metrics`: OpenMetrics text.
pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let log = state.registry.log();
    let m = &state.metrics;
    m.queue_depth
        .set(i64::try_from(log.queue_depth()).unwrap_or(i64::MAX));
    m.log_size
        .set(i64::try_from(log.size()).unwrap_or(i64::MAX));
    m.cache_bytes
        .set(i64::try_from(state.cache.bytes()).unwrap_or(i64::MAX));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &m.registry)
        .map_err(|e| ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        text,
    )
        .into_response())
}
