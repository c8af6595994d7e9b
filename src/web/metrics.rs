//! Prometheus metrics: requests by route and status with latency
//! histograms (recorded by a middleware), ingest outcomes (recorded by the
//! write path), and database pool use (read when scraped).

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::AppState;

/// Latency buckets in seconds, from a cached page to a slow batch.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The process-wide recorder, installed once however many apps a process
/// starts (the tests start many).
pub fn handle() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets(LATENCY_BUCKETS)
                .ok()?
                .install_recorder()
                .map_err(|err| tracing::warn!(%err, "metrics recorder not installed"))
                .ok()
        })
        .clone()
}

pub async fn track_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("gazette_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("gazette_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

pub async fn render(State(state): State<AppState>) -> Response {
    for (name, pool) in [("reader", &state.db.reader), ("writer", state.db.writer.pool())] {
        let size = pool.size() as f64;
        let idle = pool.num_idle() as f64;
        metrics::gauge!("gazette_db_pool_connections", "pool" => name, "state" => "open").set(size);
        metrics::gauge!("gazette_db_pool_connections", "pool" => name, "state" => "idle").set(idle);
        metrics::gauge!("gazette_db_pool_connections", "pool" => name, "state" => "busy").set(size - idle);
    }
    let body = handle().map(|h| h.render()).unwrap_or_default();
    (
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}
