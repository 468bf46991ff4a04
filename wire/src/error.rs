//! The API's error answers, as the server writes them and clients read them.

use serde::{Deserialize, Serialize};

/// Most events one ingest request may carry; larger loads are split by the client.
pub const MAX_EVENTS_PER_REQUEST: usize = 1_000;

/// One problem with one field of a posted event.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// Position of the event in the request (0 for a single object).
    pub index: usize,
    /// The offending field, e.g. `ip_address` (empty when the event itself is not an object).
    pub field: String,
    /// Why it was refused, e.g. `must be an IPv4 or IPv6 address`.
    pub reason: String,
}

impl FieldError {
    pub fn new(field: &str, reason: impl Into<String>) -> Self {
        FieldError {
            index: 0,
            field: field.to_owned(),
            reason: reason.into(),
        }
    }

    /// The same problem, for the event at `index` of a batch.
    pub fn at(self, index: usize) -> Self {
        FieldError { index, ..self }
    }
}

/// Every error answer: a stable code, a message for people, and per-field details when the
/// request held invalid events.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    #[cfg_attr(feature = "openapi", schema(example = "invalid_events"))]
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<FieldError>>,
}
