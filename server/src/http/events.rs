//! The read API: `GET /api/v1/events` (filtered, newest first, keyset-paged) and
//! `GET /api/v1/events/{id}`, for scripts holding a read key and signed-in operators.

use axum::extract::{Path, State};
use axum::Json;
use uuid::Uuid;
use vigil_wire::{ChainStatus, ErrorBody, EventPage, StoredEvent};

use super::extract::{FilterQuery, ReadAccess};
use super::ApiError;
use crate::storage::EventStore;

/// The filter parameters of every read endpoint, for the OpenAPI document (the handlers parse
/// them with `EventFilter::from_params` in `FilterQuery`, which also accepts repeated `type`).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documentation only
pub struct FilterParams {
    /// user_id or username
    user: Option<String>,
    /// an address or a CIDR network
    ip: Option<String>,
    /// event types or categories, comma-separated
    r#type: Option<String>,
    /// success, failure or partial
    result: Option<String>,
    /// info, warning, error or critical
    severity: Option<String>,
    /// producer key name
    source: Option<String>,
    /// raw session id
    session: Option<String>,
    /// a stored session fingerprint (what the dashboard's pivot links carry)
    session_fp: Option<String>,
    /// text in reason, error_message or user_agent
    q: Option<String>,
    /// RFC 3339 or relative (15m, 1h, 24h, 7d)
    since: Option<String>,
    /// RFC 3339 or relative; exclusive
    until: Option<String>,
}

/// Events matching the filter, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/events",
    tag = "read",
    security(("bearer" = [])),
    params(
        FilterParams,
        ("limit" = Option<u32>, Query, description = "1 to 500, default 50"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "One page", body = EventPage),
        (status = 401, description = "Missing or unknown key", body = ErrorBody),
        (status = 403, description = "Not a read key", body = ErrorBody),
        (status = 422, description = "A parameter is invalid (named)", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(reader = %reader.name))]
pub async fn list_events(
    State(store): State<EventStore>,
    reader: ReadAccess,
    query: FilterQuery,
) -> Result<Json<EventPage>, ApiError> {
    let FilterQuery {
        filter,
        cursor,
        limit,
    } = query;
    Ok(Json(store.find(&filter, cursor, limit).await?))
}

/// One event by id.
#[utoipa::path(
    get,
    path = "/api/v1/events/{id}",
    tag = "read",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "the event's id")),
    responses(
        (status = 200, description = "The event", body = StoredEvent),
        (status = 401, description = "Missing or unknown key", body = ErrorBody),
        (status = 403, description = "Not a read key", body = ErrorBody),
        (status = 404, description = "No such event", body = ErrorBody),
        (status = 422, description = "Not a UUID", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(reader = %reader.name))]
pub async fn get_event(
    State(store): State<EventStore>,
    reader: ReadAccess,
    Path(id): Path<String>,
) -> Result<Json<StoredEvent>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::InvalidParameter {
        param: "id".into(),
        reason: "must be a UUID".into(),
    })?;
    store.by_id(id).await?.map(Json).ok_or(ApiError::NotFound)
}

/// The chain's head (record it somewhere Vigil cannot write) and the latest verification.
#[utoipa::path(
    get,
    path = "/api/v1/chain",
    tag = "read",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Head and latest verification", body = ChainStatus),
        (status = 401, description = "Missing or unknown key", body = ErrorBody),
        (status = 403, description = "Not a read key", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(reader = %reader.name))]
pub async fn get_chain(
    State(store): State<EventStore>,
    reader: ReadAccess,
) -> Result<Json<ChainStatus>, ApiError> {
    Ok(Json(store.chain_status().await?))
}
