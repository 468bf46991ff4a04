//! The HTTP door: the only place that knows axum's state and the whole route table. One file per
//! surface; each handler parses its request into typed values (`extract`) and hands them to the
//! rooms below (`ingest`, `live`, `storage`, `auth`), answering errors through `ApiError`.

mod alerts;
mod app;
mod body;
mod client_ip;
mod dashboard;
mod dashboard_admin;
mod dashboard_entities;
mod error;
mod events;
mod export;
mod extract;
mod headers;
mod health;
mod ingest;
mod metrics;
mod openapi;
mod origin;
mod proof;
mod serve;
mod session;
mod stream;
mod write_timeout;

pub use app::{leptos_options, Application};
pub use client_ip::TrustedProxies;
pub use error::ApiError;
use export::ExportBudget;
pub use extract::parse_queries;
pub use ingest::parse_body;
pub use openapi::ApiDoc;

use axum::extract::{DefaultBodyLimit, FromRef};
use axum::routing::{get, post};
use axum::{middleware, Router};
use leptos::prelude::LeptosOptions;
use std::sync::Arc;
use std::time::Duration;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth::{ApiKeys, Sessions};
use crate::checkpoints::Checkpointer;
use crate::config::PublicUrl;
use crate::ingest::EventWriter;
use crate::live::{AlertHub, LiveHub};
use crate::metrics::Metrics;
use crate::storage::EventStore;

/// Everything a handler may need: one shared `AppParts`, so axum's clones of the state (one
/// per middleware and handler of every request) are one reference count each. Cloning the
/// parts themselves was a fifth of Vigil's CPU in single-event ingest (docs/BENCHMARKS.md).
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

impl AppState {
    pub fn new(parts: AppParts) -> Self {
        AppState(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// Each handler takes only the parts it names (`State<EventStore>`, …).
pub struct AppParts {
    pub leptos_options: LeptosOptions,
    pub store: EventStore,
    pub writer: EventWriter,
    pub keys: ApiKeys,
    pub sessions: Sessions,
    pub hub: LiveHub,
    /// Alert changes for the streams that ask for them.
    pub alert_hub: AlertHub,
    /// Vigil's own origin: where cookie-authenticated requests must come from.
    pub origin: PublicUrl,
    /// Whose forwarding headers name the client.
    pub trusted_proxies: TrustedProxies,
    /// Exports' own connections and places.
    pub exports: ExportBudget,
    /// What `/metrics` reports.
    pub metrics: Metrics,
    /// Signs the chain head, when this server has a signing key.
    pub checkpointer: Option<Checkpointer>,
    /// How far ahead of its receipt an event's time may be (`--max-clock-skew-seconds`).
    pub clock_skew: ClockSkew,
    /// The detection rules, as readers see them.
    pub rules: alerts::RuleBook,
}

/// `State<Part>` for each part: a clone of that part only.
macro_rules! state_parts {
    ($($field:ident: $part:ty),* $(,)?) => {
        $(impl FromRef<AppState> for $part {
            fn from_ref(state: &AppState) -> Self {
                state.0.$field.clone()
            }
        })*
    };
}

state_parts! {
    leptos_options: LeptosOptions,
    store: EventStore,
    writer: EventWriter,
    keys: ApiKeys,
    sessions: Sessions,
    hub: LiveHub,
    alert_hub: AlertHub,
    origin: PublicUrl,
    trusted_proxies: TrustedProxies,
    exports: ExportBudget,
    metrics: Metrics,
    checkpointer: Option<Checkpointer>,
    clock_skew: ClockSkew,
    rules: alerts::RuleBook,
}

/// The most an `occurred_at` may be ahead of the server's clock and still be believed.
#[derive(Clone, Copy, Debug)]
pub struct ClockSkew(pub chrono::Duration);

/// The whole HTTP surface: API, live stream, health, sign-in, dashboard pages, server functions,
/// assets. `max_body_bytes` bounds what one ingest request may send (413 beyond it); a body
/// that sends nothing for `body_timeout` is cut off.
pub fn router(state: AppState, max_body_bytes: usize, body_timeout: Duration) -> Router {
    let api = Router::new()
        .route(
            "/api/v1/events",
            get(events::list_events)
                .merge(post(ingest::post_events).layer(DefaultBodyLimit::max(max_body_bytes))),
        )
        .route("/api/v1/events/{id}", get(events::get_event))
        .route("/api/v1/events/export.csv", get(export::export_csv))
        .route("/api/v1/events/export.ndjson", get(export::export_ndjson))
        .route("/api/v1/chain", get(events::get_chain))
        .route("/api/v1/chain/checkpoints", get(events::list_checkpoints))
        .route("/api/v1/chain/proof", get(proof::chain_proof))
        .route("/api/v1/stream", get(stream::upgrade))
        .route("/api/v1/alerts", get(alerts::list_alerts))
        .route("/api/v1/alerts/summary", get(alerts::alert_summary))
        .route("/api/v1/alerts/{id}", get(alerts::get_alert))
        .route("/api/v1/alerts/{id}/status", post(alerts::change_status))
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/healthz", get(health::healthz))
        .route("/livez", get(health::livez))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::scrape))
        .route("/auth/login", post(session::sign_in))
        .route("/auth/logout", post(session::sign_out));
    dashboard::mount(api, &state)
        .layer(middleware::from_fn_with_state(
            state.sessions.clone(),
            session::require_operator,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            origin::refuse_cross_origin,
        ))
        .layer(middleware::from_fn_with_state(
            state.origin.clone(),
            headers::security_headers,
        ))
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::record_request,
        ))
        .layer(RequestBodyTimeoutLayer::new(body_timeout))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
