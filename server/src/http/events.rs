//! The read API: `GET /api/v1/events` (filtered, newest first, keyset-paged) and
//! `GET /api/v1/events/{id}`, for scripts holding a read key and signed-in operators.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use uuid::Uuid;
use vigil_wire::{ChainStatus, ErrorBody, EventPage, SignedCheckpoint, StoredEvent};

use super::extract::{FilterQuery, ReadAccess};
use super::ApiError;
use crate::checkpoints::Checkpointer;
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
    /// a user agent, exactly
    user_agent: Option<String>,
    /// an OAuth client id, exactly
    client_id: Option<String>,
    /// RFC 3339 or relative (15m, 1h, 24h, 7d)
    since: Option<String>,
    /// RFC 3339 or relative; exclusive
    until: Option<String>,
    /// leave out a user_id or username (repeatable, at most 32)
    #[param(rename = "-user")]
    exclude_user: Option<Vec<String>>,
    /// leave out addresses or CIDR networks (repeatable or comma-separated, at most 32)
    #[param(rename = "-ip")]
    exclude_ip: Option<String>,
    /// leave out event types or categories (comma-separated, at most 32)
    #[param(rename = "-type")]
    exclude_type: Option<String>,
    /// leave out results: success, failure, partial (comma-separated)
    #[param(rename = "-result")]
    exclude_result: Option<String>,
    /// leave out producers by key name (repeatable); `-source=vigil` hides Vigil's own events
    #[param(rename = "-source")]
    exclude_source: Option<Vec<String>>,
    /// leave out a user agent, exactly (repeatable)
    #[param(rename = "-user_agent")]
    exclude_user_agent: Option<Vec<String>>,
    /// leave out an OAuth client id (repeatable)
    #[param(rename = "-client_id")]
    exclude_client_id: Option<Vec<String>>,
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
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::invalid("id", "must be a UUID"))?;
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
    State(checkpointer): State<Option<Checkpointer>>,
    reader: ReadAccess,
) -> Result<Json<ChainStatus>, ApiError> {
    let mut status = store.chain_status().await?;
    status.latest_checkpoint = checkpointer.and_then(|c| c.latest());
    Ok(Json(status))
}

/// Most checkpoints one request lists.
const MAX_CHECKPOINTS: usize = 1_000;

/// `limit` for the checkpoint list: 1 to 1,000, default 100.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CheckpointQuery {
    limit: Option<usize>,
}

/// The signed checkpoints in this server's log, newest first (empty when it does not sign).
/// Auditors copy them somewhere the database's owner cannot write and check the chain against
/// them with `vigil verify --checkpoints`.
#[utoipa::path(
    get,
    path = "/api/v1/chain/checkpoints",
    tag = "read",
    security(("bearer" = [])),
    params(CheckpointQuery),
    responses(
        (status = 200, description = "Signed checkpoints, newest first", body = [SignedCheckpoint]),
        (status = 401, description = "Missing or unknown key", body = ErrorBody),
        (status = 403, description = "Not a read key", body = ErrorBody),
        (status = 422, description = "`limit` out of range", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(reader = %reader.name))]
pub async fn list_checkpoints(
    State(checkpointer): State<Option<Checkpointer>>,
    reader: ReadAccess,
    query: Result<Query<CheckpointQuery>, QueryRejection>,
) -> Result<Json<Vec<SignedCheckpoint>>, ApiError> {
    let limit = query.ok().and_then(|Query(q)| q.limit.or(Some(100)));
    let limit = (limit.filter(|l| (1..=MAX_CHECKPOINTS).contains(l)))
        .ok_or_else(|| ApiError::invalid("limit", "must be a whole number from 1 to 1000"))?;
    let Some(checkpointer) = checkpointer else {
        return Ok(Json(Vec::new()));
    };
    let listed = checkpointer.newest(limit).await.map_err(|err| {
        tracing::error!(%err, "cannot read the checkpoint log");
        ApiError::Internal("the checkpoint log is unreadable".to_owned())
    })?;
    Ok(Json(listed))
}
