//! What a producer sends: the seed `AuditService` parameters, every one optional but `event_type`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{ActionResult, EventType, Severity};

/// One event as posted to `POST /api/v1/events`. The server fills `action`, `action_result` and
/// `severity` from the type when they are absent.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    pub event_type: EventType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Client-chosen id: a repeated `event_id` is stored once (safe retries).
    pub event_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 128))]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_result: Option<ActionResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 256))]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 256))]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// IPv4 or IPv6 address.
    #[cfg_attr(feature = "openapi", schema(example = "203.0.113.7"))]
    pub ip_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 1024))]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 1024))]
    /// Stored only as a fingerprint.
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_used: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 4096))]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 4096))]
    pub error_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub token_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 256))]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 1024))]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forced: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 256))]
    pub api_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 256))]
    pub api_key_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Free-form context; values of secret-looking keys are stored as `[REDACTED]`.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub event_data: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// When it happened; defaults to the time of receipt.
    pub occurred_at: Option<DateTime<Utc>>,
}

impl EventInput {
    /// An event of this type with every optional field empty.
    pub fn new(event_type: EventType) -> Self {
        EventInput {
            event_type,
            event_id: None,
            action: None,
            action_result: None,
            severity: None,
            user_id: None,
            username: None,
            ip_address: None,
            user_agent: None,
            session_id: None,
            mfa_used: None,
            reason: None,
            error_message: None,
            token_type: None,
            expires_at: None,
            client_id: None,
            scope: None,
            forced: None,
            api_key_id: None,
            api_key_name: None,
            event_data: None,
            occurred_at: None,
        }
    }
}
