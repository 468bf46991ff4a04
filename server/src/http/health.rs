//! `GET /healthz`: for load balancers and orchestrators; anyone may call it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use crate::storage::EventStore;

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
