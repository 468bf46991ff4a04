//! Messages on the live stream (`GET /api/v1/stream`), one JSON text frame each.

use serde::{Deserialize, Serialize};

use crate::StoredEvent;

/// Tagged by `kind`, so clients can ignore kinds they do not know yet.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LiveMessage {
    /// A newly committed event.
    Event { event: Box<StoredEvent> },
    /// The stream is alive; `seq` is the newest committed sequence number.
    Heartbeat { seq: i64 },
    /// The server dropped events for this client (it fell behind): reload everything after `after`.
    Resync { after: i64 },
}
