//! Health for load balancers and orchestrators; anyone may call these, and they name no
//! internals. `/healthz`: the database answers. `/livez`: the process answers. `/readyz`: this
//! instance can take traffic (database reachable, schema current, writer running, not stopping).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Map, Value};

use crate::ingest::EventWriter;
use crate::live::LiveHub;
use crate::storage::EventStore;

/// Answers 200 once the database answers, 503 otherwise.
#[utoipa::path(get, path = "/healthz", responses(
    (status = 200, description = "The database answers"),
    (status = 503, description = "The database is unavailable"),
))]
pub async fn healthz(State(store): State<EventStore>) -> (StatusCode, Json<Value>) {
    match store.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ok"}))),
        Err(err) => {
            tracing::warn!(%err, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "database unavailable"})),
            )
        }
    }
}

/// Always 200 while the process can answer at all: restart it only when this fails.
#[utoipa::path(get, path = "/livez", responses(
    (status = 200, description = "The process answers"),
))]
pub async fn livez() -> Json<Value> {
    Json(json!({"status": "ok", "checks": {"process": "ok"}}))
}

/// 200 when every check passes, 503 naming the ones that fail.
#[utoipa::path(get, path = "/readyz", responses(
    (status = 200, description = "Ready: every check is `ok`"),
    (status = 503, description = "Not ready: the failing checks say why"),
))]
pub async fn readyz(
    State(store): State<EventStore>,
    State(writer): State<EventWriter>,
    State(hub): State<LiveHub>,
) -> (StatusCode, Json<Value>) {
    let (database, migrations) = match store.schema_version().await {
        Ok(version) if version >= crate::database::latest_migration() => ("ok", "ok"),
        Ok(_) => ("ok", "pending"),
        Err(err) => {
            tracing::warn!(%err, "readiness check: database unavailable");
            ("unavailable", "unknown")
        }
    };
    let checks = [
        ("database", database),
        ("migrations", migrations),
        ("writer", if writer.is_running() { "ok" } else { "stopped" }),
        (
            "shutdown",
            if hub.is_closing() {
                "in progress"
            } else {
                "ok"
            },
        ),
    ];
    let ready = checks.iter().all(|(_, state)| *state == "ok");
    let checks: Map<String, Value> = (checks.into_iter())
        .map(|(name, state)| (name.to_owned(), Value::from(state)))
        .collect();
    let (status, word) = if ready {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    };
    (status, Json(json!({"status": word, "checks": checks})))
}
