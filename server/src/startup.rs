//! Building the application: one `build_app` shared by the binary and the tests.

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::get;
use axum::{Json, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use sqlx::PgPool;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;
use vigil_app::backend::Backend;
use vigil_app::{shell, App};

use crate::auth::{self, ApiKeys, Sessions};
use crate::config::ServeArgs;
use crate::live::LiveHub;
use crate::storage::{EventStore, EventWriter, KeyStore, OperatorStore, WriterConfig};
use crate::{export, ingest, live, maintenance, openapi, read_api};

/// Everything a handler may need. Axum clones the state for every request, so it is one
/// reference count; each handler takes only the parts it names (`State<EventStore>`, …).
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

pub struct AppParts {
    pub leptos_options: LeptosOptions,
    pub store: EventStore,
    pub writer: EventWriter,
    pub keys: ApiKeys,
    pub sessions: Sessions,
    pub hub: LiveHub,
}

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

/// `State<Part>` for each part of the state.
macro_rules! state_parts {
    ($($field:ident: $part:ty),* $(,)?) => {$(
        impl FromRef<AppState> for $part {
            fn from_ref(state: &AppState) -> Self {
                state.$field.clone()
            }
        }
    )*};
}

state_parts!(
    leptos_options: LeptosOptions,
    store: EventStore,
    writer: EventWriter,
    keys: ApiKeys,
    sessions: Sessions,
    hub: LiveHub,
);

/// The site options cargo-leptos would pass as LEPTOS_* variables, set here so the binary runs
/// from the repository root with none of them.
pub fn leptos_options(config: &ServeArgs) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("vigil")
        .site_root(config.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(config.addr)
        .env(leptos::config::Env::PROD)
        .build()
}

/// The whole HTTP surface: API, live stream, health, dashboard pages, server functions, assets.
pub fn build_app(state: AppState, config: &ServeArgs) -> Router {
    let routes = generate_route_list(App);
    let backend = Backend(Arc::new(state.store.clone()));
    let provide_backend = move || provide_context(backend.clone());
    Router::new()
        .merge(ingest::router(config.max_body_bytes))
        .merge(live::router())
        .merge(openapi::router())
        .merge(read_api::router())
        .merge(export::router())
        .merge(auth::router())
        .route("/healthz", get(healthz))
        .leptos_routes_with_context(&state, routes, provide_backend, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(
            state.sessions.clone(),
            auth::require_operator,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Answers 200 once the database answers, 503 otherwise.
#[utoipa::path(get, path = "/healthz", responses(
    (status = 200, description = "The database answers"),
    (status = 503, description = "The database is unavailable"),
))]
pub async fn healthz(State(store): State<EventStore>) -> (StatusCode, Json<serde_json::Value>) {
    match store.ping().await {
        Ok(()) => (StatusCode::OK, Json(serde_json::json!({"status": "ok"}))),
        Err(err) => {
            tracing::warn!(%err, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"status": "database unavailable"})),
            )
        }
    }
}

/// A bound listener and its router: tests build one on port 0 and read the port back.
pub struct Application {
    listener: TcpListener,
    router: Router,
    hub: LiveHub,
}

impl Application {
    /// Binds, starts the writer, the live feed and the key-change listener, and builds the router.
    /// `pool` is the schema owner's; requests are served through the serving role's pool.
    pub async fn build(config: &ServeArgs, pool: PgPool) -> std::io::Result<Self> {
        let listener = TcpListener::bind(config.addr).await?;
        let mut options = leptos_options(config);
        options.site_addr = listener.local_addr()?;
        match live::choose_cpus(config.live_cpus.clone()) {
            Some(cpus) => tracing::info!(?cpus, "the live fan-out runs on these CPUs"),
            None => tracing::info!("the live fan-out runs on any CPU"),
        }
        let hub = LiveHub::new();
        let owner = pool;
        let pool = crate::database::serving_pool(&owner)
            .await
            .map_err(std::io::Error::other)?;
        let store = EventStore::with_owner(pool.clone(), owner);
        let writer_config = WriterConfig {
            max_queued_rows: config.ingest_queue,
            ..WriterConfig::default()
        };
        let writer = EventWriter::spawn(store.clone(), hub.clone(), writer_config);
        tokio::spawn(live::follow_commits(hub.clone(), store.clone()));
        if config.verify_every_minutes > 0 {
            let every = std::time::Duration::from_secs(config.verify_every_minutes * 60);
            tokio::spawn(maintenance::verify_periodically(store.clone(), every));
        }
        tokio::spawn(maintenance::keep_partitions(
            store.clone(),
            config.retention_days,
        ));
        let keys = ApiKeys::new(KeyStore::new(pool.clone()));
        tokio::spawn(keys.clone().follow_changes());
        let sessions = Sessions::new(
            OperatorStore::new(pool),
            chrono::Duration::hours(config.session_hours.into()),
        );
        let state = AppState::new(AppParts {
            leptos_options: options,
            store,
            writer,
            keys,
            sessions,
            hub: hub.clone(),
        });
        let router = build_app(state, config);
        Ok(Application {
            listener,
            router,
            hub,
        })
    }

    /// Its live hub: tests look at what the fan-out counted.
    pub fn hub(&self) -> LiveHub {
        self.hub.clone()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` resolves, then closes live streams and drains requests.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let hub = self.hub;
        // Peer addresses feed the sign-in audit events.
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, service)
            .with_graceful_shutdown(async move {
                shutdown.await;
                hub.close_all();
            })
            .await
    }
}
