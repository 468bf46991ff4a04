//! An event as Vigil stored it: what the read API, the live stream and the dashboard show.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use uuid::Uuid;

use crate::{ActionResult, Category, Severity};

/// A stored event. Field names are the seed's; `seq`, `id`, `received_at`, `source` and
/// `category` are assigned by the server.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// Position in the stream: strictly increasing in commit order, so clients resume from it.
    pub seq: i64,
    /// Time-ordered UUIDv7 assigned by the server, or the producer's `event_id`.
    pub id: Uuid,
    pub event_type: String,
    pub category: Category,
    pub action: String,
    pub action_result: ActionResult,
    pub severity: Severity,
    pub user_id: Option<String>,
    pub username: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub ip_address: Option<IpAddr>,
    pub user_agent: Option<String>,
    /// A fingerprint of the producer's session id: the raw id is a bearer secret and is never stored.
    pub session_fingerprint: Option<String>,
    pub mfa_used: Option<bool>,
    pub reason: Option<String>,
    pub error_message: Option<String>,
    pub token_type: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub client_id: Option<String>,
    pub scope: Option<String>,
    pub forced: Option<bool>,
    pub api_key_id: Option<String>,
    pub api_key_name: Option<String>,
    /// Free-form context, with secret-looking keys redacted.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub event_data: serde_json::Value,
    /// When it happened, per the producer (defaults to `received_at`).
    pub occurred_at: DateTime<Utc>,
    /// When Vigil committed it.
    pub received_at: DateTime<Utc>,
    /// The producer's `occurred_at` when it was further ahead of `received_at` than the
    /// server allows (`--max-clock-skew-seconds`): the event is stored as occurring when it
    /// was received, and flagged by this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at_claimed: Option<DateTime<Utc>>,
    /// Which producer sent it (the producer key's name).
    pub source: String,
}

/// What ingest answers for one posted event.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestReceipt {
    pub id: Uuid,
    /// The event's place in the stream; for a duplicate, that of the event stored first.
    pub seq: i64,
    /// True when an event with this `event_id` was already stored: nothing new was written.
    pub duplicate: bool,
    /// The stored event's chain hash (lowercase hex SHA-256): with `seq`, the producer's receipt
    /// of where its event sits in the chain. Absent only for events stored before the chain began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

/// The answer to `POST /api/v1/events`: one receipt per posted event, in the order posted.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestResponse {
    pub events: Vec<IngestReceipt>,
}

/// One page of `GET /api/v1/events`: newest first; pass `next_cursor` back as `cursor` for the
/// next page (absent on the last one).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventPage {
    pub events: Vec<StoredEvent>,
    pub next_cursor: Option<String>,
}
