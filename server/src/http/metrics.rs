//! `GET /metrics`: the Prometheus scrape. On the main listener it needs a read key (scrapers
//! are scripts, not browsers); on `--metrics-addr` it needs nothing, so bind that to an address
//! only the monitoring network reaches. Also the middleware that times every request.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::time::Instant;

use super::error::ErrorCode;
use super::extract::ReadKey;
use super::AppState;
use crate::ingest::EventWriter;
use crate::metrics::{self, Metrics};
use crate::storage::EventStore;

/// What a scrape needs: the registry, and where the gauges read at scrape time come from.
#[derive(Clone)]
pub struct Scrape {
    pub metrics: Metrics,
    pub store: EventStore,
    pub writer: EventWriter,
}

impl Scrape {
    pub fn of(state: &AppState) -> Self {
        Scrape {
            metrics: state.metrics.clone(),
            store: state.store.clone(),
            writer: state.writer.clone(),
        }
    }

    fn render(&self) -> Response {
        let m = &self.metrics;
        let pool = self.store.pool();
        let (open, idle) = (i64::from(pool.size()), pool.num_idle() as i64);
        m.db_pool_connections.with_label_values(&["idle"]).set(idle);
        (m.db_pool_connections.with_label_values(&["in_use"])).set((open - idle).max(0));
        (m.db_pool_max_connections).set(i64::from(pool.options().get_max_connections()));
        m.writer_queued_events.set(self.writer.queued_rows() as i64);
        ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], m.render()).into_response()
    }
}

/// The scrape on the main listener: read keys only.
#[utoipa::path(get, path = "/metrics", tag = "operations", security(("bearer" = [])), responses(
    (status = 200, description = "Prometheus text format 0.0.4", body = String, content_type = "text/plain"),
    (status = 401, description = "Missing, unknown or revoked key"),
    (status = 403, description = "Not a read key"),
))]
pub async fn scrape(_reader: ReadKey, State(state): State<AppState>) -> Response {
    Scrape::of(&state).render()
}

/// The `--metrics-addr` listener's whole surface.
pub fn open_router(scrape: Scrape) -> Router {
    Router::new().route("/metrics", get(move || async move { scrape.render() }))
}

/// Times every request by its route template (never the raw path: ids and filters would make
/// the label set unbounded), and counts ingest refusals by their error code.
pub async fn record_request(State(m): State<Metrics>, request: Request, next: Next) -> Response {
    let route = match request.extensions().get::<MatchedPath>() {
        Some(path) => path.as_str().to_owned(),
        None if request.uri().path().starts_with("/pkg/") => "/pkg/{asset}".to_owned(),
        None => "other".to_owned(),
    };
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status();
    (m.request_duration)
        .with_label_values(&[&route, method_label(&method), status.as_str()])
        .observe(started.elapsed().as_secs_f64());
    if route == "/api/v1/events" && method == Method::POST && !status.is_success() {
        let reason = response.extensions().get::<ErrorCode>();
        let reason = reason.map_or("other", |code| code.0);
        m.events_rejected.with_label_values(&[reason]).inc();
    }
    response
}

/// Methods outside the usual few share one label.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}
