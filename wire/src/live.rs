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
    /// The stream is alive, and this connection has been sent every matching event through `seq`
    /// (the newest committed one when idle): resuming with `after=seq` misses nothing.
    Heartbeat { seq: i64 },
    /// The server cannot continue this connection (its database is unavailable): reconnect
    /// with `after=<after>` to resume without a gap.
    Resync { after: i64 },
}
