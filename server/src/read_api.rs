//! The read API: `GET /api/v1/events` (filtered, newest first, keyset-paged) and
//! `GET /api/v1/events/{id}`, for scripts holding a read key.

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use uuid::Uuid;
use vigil_wire::{ChainStatus, EventFilter, EventPage, StoredEvent};

use crate::auth::ReadAccess;
use crate::error::{ApiError, ErrorBody};
use crate::startup::AppState;
use crate::storage::{Cursor, EventStore};

/// Page size when the client does not say.
const DEFAULT_LIMIT: u32 = 50;
/// Largest page a client may ask for.
pub const MAX_LIMIT: u32 = 500;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/events", get(list_events))
        .route("/api/v1/events/{id}", get(get_event))
        .route("/api/v1/chain", get(get_chain))
}

/// The filter parameters of every read endpoint, for the OpenAPI document (the handlers parse
/// them with `EventFilter::from_params`, which also accepts repeated `type`).
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

/// The filter and page a query string asks for.
pub fn parse_query(raw: Option<&str>) -> Result<(EventFilter, Option<Cursor>, u32), ApiError> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let filter = EventFilter::from_params(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| ApiError::InvalidParameter {
            param: e.param,
            reason: e.reason,
        })?;
    let mut cursor = None;
    let mut limit = DEFAULT_LIMIT;
    for (name, value) in &pairs {
        match name.as_str() {
            "cursor" if !value.is_empty() => {
                cursor = Some(
                    Cursor::decode(value).ok_or_else(|| ApiError::InvalidParameter {
                        param: "cursor".into(),
                        reason: "is not a cursor this server issued".into(),
                    })?,
                );
            }
            "limit" => {
                limit = value
                    .parse()
                    .ok()
                    .filter(|l| (1..=MAX_LIMIT).contains(l))
                    .ok_or_else(|| ApiError::InvalidParameter {
                        param: "limit".into(),
                        reason: format!("must be 1 to {MAX_LIMIT}"),
                    })?;
            }
            _ => {}
        }
    }
    Ok((filter, cursor, limit))
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
    RawQuery(query): RawQuery,
) -> Result<Json<EventPage>, ApiError> {
    let (filter, cursor, limit) = parse_query(query.as_deref())?;
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
