//! `GET /api/v1/stream`: a WebSocket that forwards the hub's events, one JSON text frame each.

use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Extension;
use futures::{SinkExt, StreamExt};
use std::time::Duration;
use vigil_wire::LiveMessage;

use super::events::FilterParams;
use super::extract::{ReadAccess, StreamQuery};
use super::serve::ConnectionSlot;
use super::{origin, ApiError};
use crate::auth::{ApiKeys, Credential, Sessions};
use crate::config::PublicUrl;
use crate::live::{self, AlertHub, AlertTap, Follower, LiveHub};
use crate::metrics::Metrics;

/// How often an open stream re-checks its key or session: a revoked key, a signed-out or
/// disabled operator or an expired session loses the stream within this long.
const RECHECK_EVERY: Duration = Duration::from_secs(15);
/// How long the closing frame may wait for a client that does not read.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Documents the stream for OpenAPI readers; the handler is `upgrade`.
#[utoipa::path(get, path = "/api/v1/stream", tag = "live", params(
    FilterParams,
    ("after" = Option<i64>, Query, description = "replay stored matches with a greater seq first"),
    ("events" = Option<bool>, Query, description = "false: no events (with alerts=true, alerts only; heartbeats then carry the alert change seq)"),
    ("alerts" = Option<bool>, Query, description = "true: also `{\"kind\":\"alert\"}` messages, one per alert opened or changed"),
    ("alerts_after" = Option<i64>, Query, description = "replay the alerts changed after this change seq first"),
), responses(
    (status = 101, description = "WebSocket: one JSON `LiveMessage` per text frame", body = LiveMessage),
))]
#[allow(dead_code)]
pub fn stream_doc() {}

/// Only readers may follow: a signed-in operator (the dashboard) or a read key (scripts). The
/// query string takes the read API's filters (`type`, `user`, `ip`, …), applied here on the
/// server, so a client receives only the events it asked for, and `after=<seq>` to replay what
/// it missed first. A bad parameter refuses the upgrade with a 422 naming it. With the session
/// cookie, the upgrade must come from Vigil's own origin (403 otherwise): any page may open a
/// WebSocket, and the browser would attach the cookie.
#[allow(clippy::too_many_arguments)] // each is one extractor
pub async fn upgrade(
    reader: ReadAccess,
    headers: HeaderMap,
    State(own): State<PublicUrl>,
    ws: WebSocketUpgrade,
    query: StreamQuery,
    State(hub): State<LiveHub>,
    State(alert_hub): State<AlertHub>,
    State(keys): State<ApiKeys>,
    State(sessions): State<Sessions>,
    slot: Option<Extension<ConnectionSlot>>,
) -> Result<Response, ApiError> {
    if reader.credential.is_session() {
        origin::require_own(&own, &headers)?;
    }
    let access = Access {
        credential: reader.credential,
        keys,
        sessions,
        _slot: slot.map(|Extension(slot)| slot),
    };
    let alerts = query.alerts.then(|| alert_hub.tap(query.alerts_after));
    let follower = query.events.then(|| hub.follow(query.filter));
    let after = query.after;
    let hub = hub.clone();
    // Clients only listen, so the read buffer can be small: idle connections stay cheap.
    let ws = ws
        .read_buffer_size(4 * 1024)
        .max_message_size(64 * 1024)
        .write_buffer_size(16 * 1024)
        .max_write_buffer_size(1024 * 1024);
    Ok(ws.on_upgrade(move |socket| serve_socket(socket, hub, follower, (after, alerts), access)))
}

/// What admitted a stream, what to re-check it against, and its place under the connection cap.
struct Access {
    credential: Credential,
    keys: ApiKeys,
    sessions: Sessions,
    _slot: Option<ConnectionSlot>,
}

impl Access {
    /// Resolves once the credential no longer admits the stream. A database error is not a
    /// revocation: the next check decides.
    async fn revoked(&self) -> &'static str {
        let mut every = tokio::time::interval(RECHECK_EVERY);
        every.tick().await;
        loop {
            every.tick().await;
            match self.credential.revoked(&self.keys, &self.sessions).await {
                Ok(Some(reason)) => return reason,
                Ok(None) => {}
                Err(err) => tracing::debug!(%err, "cannot re-check a stream's credential"),
            }
        }
    }
}

/// A send task and a receive task; whichever ends first ends the other.
async fn serve_socket(
    socket: WebSocket,
    hub: LiveHub,
    follower: Option<Follower>,
    (after, alerts): (Option<i64>, Option<AlertTap>),
    access: Access,
) {
    let (mut sink, mut stream) = socket.split();
    let fan_out = hub.fan_out_handle().clone();
    let metrics = hub.metrics().clone();
    let _open = OpenStream::count(&metrics);
    // The sender runs where the fan-out does, below ingest's priority; the receiver only
    // notices the close.
    let mut send_task = fan_out.spawn(async move {
        let close = tokio::select! {
            ended = follow(&hub, follower, &mut sink, after, alerts) => {
                if let Err(reason) = ended {
                    tracing::debug!(reason, "live stream ended");
                    (metrics.live_connections_closed)
                        .with_label_values(&[closed_reason(reason)])
                        .inc();
                }
                None
            }
            reason = access.revoked() => {
                metrics.live_connections_closed.with_label_values(&["revoked"]).inc();
                Some(CloseFrame {
                    code: close_code::POLICY,
                    reason: reason.into(),
                })
            }
        };
        // A client that reads nothing would hold this task forever.
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.send(Message::Close(close))).await;
    });
    let mut receive_task = tokio::spawn(async move {
        // Clients send nothing yet; reading keeps pings answered and notices the close.
        while let Some(Ok(message)) = stream.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    });
    tokio::select! {
        _ = &mut send_task => receive_task.abort(),
        _ = &mut receive_task => send_task.abort(),
    }
}

/// Events (with alerts if asked), or alerts alone.
async fn follow(
    hub: &LiveHub,
    follower: Option<Follower>,
    sink: &mut live::Sink,
    after: Option<i64>,
    alerts: Option<AlertTap>,
) -> Result<(), live::Ended> {
    match (follower, alerts) {
        (Some(follower), alerts) => follower.run(sink, after, alerts).await,
        (None, Some(alerts)) => live::run_alerts_only(hub, sink, alerts).await,
        (None, None) => Ok(()),
    }
}

/// Counts an open stream for as long as it lives.
struct OpenStream(prometheus::IntGauge);

impl OpenStream {
    fn count(metrics: &Metrics) -> Self {
        metrics.live_connections.inc();
        OpenStream(metrics.live_connections.clone())
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// A bounded label for why the server ended a stream.
fn closed_reason(ended: live::Ended) -> &'static str {
    match ended {
        live::SLOW_CLIENT => "slow_client",
        live::CLIENT_GONE => "client_gone",
        live::DATABASE_UNAVAILABLE => "database_unavailable",
        _ => "other",
    }
}
