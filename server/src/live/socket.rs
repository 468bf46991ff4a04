//! `GET /api/v1/stream`: a WebSocket that forwards the hub's events, one JSON text frame each.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use futures::{SinkExt, StreamExt};
use vigil_wire::LiveMessage;

use super::follower::Follower;
use super::LiveHub;
use crate::auth::ReadAccess;
use crate::error::ApiError;
use crate::ingest::session_fingerprint;
use crate::read_api::{parse_query, FilterParams};
use crate::startup::AppState;
use crate::storage::EventStore;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/stream", get(upgrade))
}

/// Documents the stream for OpenAPI readers; the handler is `upgrade`.
#[utoipa::path(get, path = "/api/v1/stream", tag = "live", params(
    FilterParams,
    ("after" = Option<i64>, Query, description = "replay stored matches with a greater seq first"),
), responses(
    (status = 101, description = "WebSocket: one JSON `LiveMessage` per text frame", body = LiveMessage),
))]
#[allow(dead_code)]
pub fn stream_doc() {}

/// Only readers may follow: a signed-in operator (the dashboard) or a read key (scripts). The
/// query string takes the read API's filters (`type`, `user`, `ip`, …), applied here on the
/// server, so a client receives only the events it asked for, and `after=<seq>` to replay what
/// it missed first. A bad parameter refuses the upgrade with a 422 naming it.
async fn upgrade(
    _reader: ReadAccess,
    RawQuery(query): RawQuery,
    ws: WebSocketUpgrade,
    State(hub): State<LiveHub>,
    State(store): State<EventStore>,
) -> Result<Response, ApiError> {
    let (filter, _, _) = parse_query(query.as_deref())?;
    let after = parse_after(query.as_deref())?;
    let fingerprint = filter.session.as_deref().map(session_fingerprint);
    let follower = Follower {
        group: hub.group(filter.clone(), fingerprint, &store),
        catch_up: hub.catch_up(&store),
        hub,
        filter,
    };
    // Clients only listen, so the read buffer can be small: idle connections stay cheap.
    let ws = ws
        .read_buffer_size(4 * 1024)
        .max_message_size(64 * 1024)
        .write_buffer_size(16 * 1024)
        .max_write_buffer_size(1024 * 1024);
    Ok(ws.on_upgrade(move |socket| serve_socket(socket, follower, after)))
}

/// `after=<seq>`: a non-negative integer.
fn parse_after(query: Option<&str>) -> Result<Option<i64>, ApiError> {
    let value = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(name, value)| name == "after" && !value.is_empty())
        .map(|(_, value)| value.into_owned());
    value
        .map(|v| {
            v.trim()
                .parse::<i64>()
                .ok()
                .filter(|seq| *seq >= 0)
                .ok_or_else(|| ApiError::InvalidParameter {
                    param: "after".into(),
                    reason: "must be a seq (a non-negative integer)".into(),
                })
        })
        .transpose()
}

/// A send task and a receive task; whichever ends first ends the other.
async fn serve_socket(socket: WebSocket, follower: Follower, after: Option<i64>) {
    let (mut sink, mut stream) = socket.split();
    let fan_out = follower.hub.fan_out.clone();
    // The sender runs where the fan-out does, below ingest's priority; the receiver only
    // notices the close.
    let mut send_task = fan_out.spawn(async move {
        if let Err(reason) = follower.run(&mut sink, after).await {
            tracing::debug!(reason, "live stream ended");
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

pub(super) fn to_json(message: &LiveMessage) -> String {
    serde_json::to_string(message).expect("live messages always serialise")
}
