//! Messages on the live stream (`GET /api/v1/stream`), one JSON text frame each.

use serde::{Deserialize, Serialize};

use crate::{Alert, StoredEvent};

/// Tagged by `kind`, so clients can ignore kinds they do not know yet.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LiveMessage {
    /// A newly committed event.
    Event { event: Box<StoredEvent> },
    /// An alert was opened or changed (only to streams that asked with `alerts=true`); resume
    /// with `alerts_after=<alert.change_seq>`.
    Alert { alert: Box<Alert> },
    /// The stream is alive, and this connection has been sent every matching event through `seq`
    /// (the newest committed one when idle): resuming with `after=seq` misses nothing.
    Heartbeat { seq: i64 },
    /// The server cannot continue this connection (its database is unavailable): reconnect
    /// with `after=<after>` to resume without a gap.
    Resync { after: i64 },
}
