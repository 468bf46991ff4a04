//! The ingest door: `POST /api/v1/events`, for producers holding an ingest key. Authenticates
//! the producer, parses every event, hands the batch to the group-commit writer and answers only
//! after COMMIT.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use vigil_wire::{ErrorBody, EventInput, IngestResponse};

use super::body;
use super::extract::IngestKey;
use super::{ApiError, ClockSkew};
use crate::events::{parse_event, NewEvent};
use crate::ingest::EventWriter;

/// What the JSON body may hold: one event, or a batch stored atomically.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // exists for the OpenAPI document; bodies are parsed by `decode_events`
pub enum EventBatch {
    One(Box<EventInput>),
    /// A batch of 1 to 1,000 events, stored all or nothing.
    Many(Vec<EventInput>),
}

/// Stores one event or a batch, answering after COMMIT.
#[utoipa::path(
    post,
    path = "/api/v1/events",
    tag = "ingest",
    security(("bearer" = [])),
    request_body(
        description = "One event, a JSON array of up to 1,000 events, or NDJSON (one event per line)",
        content(
            (EventBatch = "application/json"),
            (String = "application/x-ndjson"),
        )
    ),
    responses(
        (status = 201, description = "Committed; one receipt per posted event, in order", body = IngestResponse),
        (status = 400, description = "Malformed JSON (with line and column)", body = ErrorBody),
        (status = 401, description = "Missing, unknown or revoked key", body = ErrorBody),
        (status = 408, description = "The body stopped arriving; nothing stored", body = ErrorBody),
        (status = 403, description = "The key may not ingest (a read key)", body = ErrorBody),
        (status = 413, description = "Body or batch too large", body = ErrorBody),
        (status = 415, description = "Not JSON or NDJSON", body = ErrorBody),
        (status = 409, description = "An `event_id` another producer used (by index); nothing stored", body = ErrorBody),
        (status = 422, description = "Invalid events: every problem by index and field; nothing stored", body = ErrorBody),
        (status = 503, description = "Saturated or database unavailable; retry after `Retry-After`", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(source = %producer.name))]
pub async fn post_events(
    State(writer): State<EventWriter>,
    State(ClockSkew(skew)): State<ClockSkew>,
    producer: IngestKey,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<IngestResponse>), ApiError> {
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        _ if timed_out(&rejection) => ApiError::BodyTimeout,
        _ => ApiError::BadBody(rejection.body_text()),
    })?;
    let mut events = parse_body(&headers, &body, &producer.name)?;
    let now = chrono::Utc::now();
    for event in &mut events {
        event.hold_to_receipt(now, skew);
    }
    let receipts = writer.write(events).await?;
    Ok((
        StatusCode::CREATED,
        Json(IngestResponse { events: receipts }),
    ))
}

/// Whether the body stopped arriving (`--body-timeout-seconds`) rather than being malformed.
fn timed_out(rejection: &BytesRejection) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(rejection);
    while let Some(err) = cause {
        if err.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = err.source();
    }
    false
}

/// A posted body as the events it holds, each validated; every problem is named by index and
/// field. Pure (no I/O): the fuzz targets in `server/fuzz` call it as the handler does.
pub fn parse_body(
    headers: &HeaderMap,
    body: &[u8],
    source: &str,
) -> Result<Vec<NewEvent>, ApiError> {
    let values = body::decode_events(headers, body)?;
    let mut events = Vec::with_capacity(values.len());
    let mut problems = Vec::new();
    for (index, value) in values.into_iter().enumerate() {
        match parse_event(value, source) {
            Ok(event) => events.push(event),
            Err(errors) => problems.extend(errors.into_iter().map(|e| e.at(index))),
        }
    }
    // Atomic: one bad event refuses the whole request, and says what is wrong with each.
    if !problems.is_empty() {
        return Err(ApiError::InvalidEvents(problems));
    }
    Ok(events)
}
