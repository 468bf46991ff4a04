//! The ingest door: `POST /api/v1/events`. Parses, stores, answers only after COMMIT, then hands
//! the stored event to the live hub.

mod validate;

pub use validate::{parse_event, session_fingerprint, FieldError, REDACTED};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;
use vigil_wire::IngestReceipt;

use crate::error::ApiError;
use crate::live::LiveHub;
use crate::startup::AppState;
use crate::storage::EventStore;

/// Producer name recorded until producer keys exist.
const ANONYMOUS_SOURCE: &str = "anonymous";

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/events", post(post_event))
}

#[tracing::instrument(skip_all)]
async fn post_event(
    State(store): State<EventStore>,
    State(hub): State<LiveHub>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<IngestReceipt>), ApiError> {
    require_json(&headers)?;
    let value: Value = serde_json::from_slice(&body).map_err(|e| ApiError::MalformedJson {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let event = parse_event(value, ANONYMOUS_SOURCE).map_err(ApiError::InvalidEvent)?;
    let stored = store.insert(&event).await?;
    let receipt = IngestReceipt {
        id: stored.id,
        seq: stored.seq,
    };
    hub.publish(stored);
    Ok((StatusCode::CREATED, Json(receipt)))
}

fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(content_type.to_owned()))
    }
}
