//! `GET /api/v1/stream`: a WebSocket that forwards the hub's events, one JSON text frame each.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use futures::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use vigil_wire::{EventFilter, LiveMessage};

use super::LiveHub;
use crate::auth::ReadAccess;
use crate::error::ApiError;
use crate::ingest::session_fingerprint;
use crate::read_api::parse_query;
use crate::startup::AppState;

/// Often enough for proxies and browsers to keep the connection, rare enough to cost nothing.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(15);

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/stream", get(upgrade))
}

/// Documents the stream for OpenAPI readers; the handler is `upgrade`.
#[utoipa::path(get, path = "/api/v1/stream", tag = "live", responses(
    (status = 101, description = "WebSocket: one JSON `LiveMessage` per text frame", body = LiveMessage),
))]
#[allow(dead_code)]
pub fn stream_doc() {}

/// Only readers may follow: a signed-in operator (the dashboard) or a read key (scripts). The
/// query string takes the read API's filters (`type`, `user`, `ip`, …), applied here on the
/// server, so a client receives only the events it asked for; a bad filter refuses the upgrade
/// with a 422 naming the parameter.
async fn upgrade(
    _reader: ReadAccess,
    RawQuery(query): RawQuery,
    ws: WebSocketUpgrade,
    State(hub): State<LiveHub>,
) -> Result<Response, ApiError> {
    let (filter, _, _) = parse_query(query.as_deref())?;
    Ok(ws.on_upgrade(move |socket| serve_socket(socket, hub, filter)))
}

/// A send task and a receive task; whichever ends first ends the other.
async fn serve_socket(socket: WebSocket, hub: LiveHub, filter: EventFilter) {
    // Computed once: the filter compares fingerprints, never raw session ids.
    let fingerprint = filter.session.as_deref().map(session_fingerprint);
    let (mut sink, mut stream) = socket.split();
    // Subscribe before anything else so no event committed from now on is missed.
    let mut events = hub.subscribe();
    let mut shutdown = hub.shutdown_signal();
    let mut send_task = tokio::spawn(async move {
        let mut heartbeat = tokio::time::interval(HEARTBEAT_EVERY);
        let mut last_seq = hub.latest_seq();
        loop {
            let frame = tokio::select! {
                received = events.recv() => match received {
                    Ok(event) => {
                        last_seq = event.seq;
                        if !filter.matches(&event.event, fingerprint.as_deref(), Utc::now()) {
                            continue;
                        }
                        event.json.clone()
                    }
                    // Fell behind: tell the client where to resume instead of silently skipping.
                    Err(RecvError::Lagged(_)) => to_json(&LiveMessage::Resync { after: last_seq }),
                    Err(RecvError::Closed) => break,
                },
                _ = heartbeat.tick() => to_json(&LiveMessage::Heartbeat { seq: hub.latest_seq() }),
                _ = shutdown.changed() => break,
            };
            if sink.send(Message::Text(frame.into())).await.is_err() {
                break;
            }
        }
        let _ = sink.send(Message::Close(None)).await;
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

fn to_json(message: &LiveMessage) -> String {
    serde_json::to_string(message).expect("live messages always serialise")
}
