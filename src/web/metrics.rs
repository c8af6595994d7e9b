//! Prometheus metrics: requests by route and status with latency
//! histograms (recorded by a middleware), ingest outcomes (recorded by the
//! write path), and database pool use (read when scraped).

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use subtle::ConstantTimeEq;

use crate::accounts::Role;
use crate::error::AppError;
use crate::web::auth::bearer_token;
use crate::web::session::SignedIn;
use crate::{AppState, store, tokens};

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

/// The route an answer came from, as its pattern (`/articles/{id}/{slug}`),
/// for layers outside the router that report on answers (a response
/// extension).
#[derive(Clone)]
pub struct Route(pub String);

pub async fn track_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let mut response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("gazette_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("gazette_http_request_duration_seconds", "method" => method, "route" => route.clone())
        .record(started.elapsed().as_secs_f64());
    response.extensions_mut().insert(Route(route));
    response
}

/// Who may read /metrics: anyone while no account exists (a fresh install
/// has no one to ask); then an admin's session, or a scraper with the
/// configured metrics token.
async fn allowed(state: &AppState, signed_in: Option<&SignedIn>, headers: &HeaderMap) -> Result<(), AppError> {
    if signed_in.is_some_and(|SignedIn(session)| session.user.role == Role::Admin) {
        return Ok(());
    }
    let presented = bearer_token(headers).map(tokens::digest);
    if let (Some(expected), Some(presented)) = (&state.site.metrics_token_hash, presented)
        && bool::from(expected.ct_eq(&presented))
    {
        return Ok(());
    }
    if store::users::count(&state.db.reader).await? == 0 {
        return Ok(());
    }
    Err(AppError::Unauthorized)
}

pub async fn render(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    allowed(&state, signed_in.as_ref(), &headers).await?;
    for (name, (size, idle)) in [
        ("reader", state.db.reader.pool_figures()),
        ("writer", state.db.writer.pool_figures()),
    ] {
        let (size, idle) = (f64::from(size), idle as f64);
        metrics::gauge!("gazette_db_pool_connections", "pool" => name, "state" => "open").set(size);
        metrics::gauge!("gazette_db_pool_connections", "pool" => name, "state" => "idle").set(idle);
        metrics::gauge!("gazette_db_pool_connections", "pool" => name, "state" => "busy").set(size - idle);
    }
    // Articles stored and not yet placed in stories: a backlog that
    // grows during a bulk import and should drain soon after.
    let waiting = store::stories::waiting(&state.db.reader).await?;
    metrics::gauge!("gazette_stories_waiting").set(waiting as f64);
    if let Some(memory) = resident_memory() {
        metrics::gauge!("gazette_memory_resident_bytes").set(memory.now as f64);
        metrics::gauge!("gazette_memory_resident_peak_bytes").set(memory.peak as f64);
    }
    let body = handle().map(|h| h.render()).unwrap_or_default();
    Ok((
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
        .into_response())
}

/// The process's resident memory, now and at its highest, as the kernel
/// counts it (`VmRSS` and `VmHWM`); `None` where there is no `/proc`.
struct Resident {
    now: u64,
    peak: u64,
}

fn resident_memory() -> Option<Resident> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse::<u64>()
            .ok()
    };
    Some(Resident {
        now: kib("VmRSS:")? * 1024,
        peak: kib("VmHWM:")? * 1024,
    })
}
