//! `GET /api/v1/stream`: a WebSocket that forwards the hub's events, one JSON text frame each.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use vigil_wire::LiveMessage;

use super::events::FilterParams;
use super::extract::{ReadAccess, StreamQuery};
use super::ApiError;
use crate::live::{Follower, LiveHub};

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
pub async fn upgrade(
    _reader: ReadAccess,
    ws: WebSocketUpgrade,
    StreamQuery { filter, after }: StreamQuery,
    State(hub): State<LiveHub>,
) -> Result<Response, ApiError> {
    let follower = hub.follow(filter);
    // Clients only listen, so the read buffer can be small: idle connections stay cheap.
    let ws = ws
        .read_buffer_size(4 * 1024)
        .max_message_size(64 * 1024)
        .write_buffer_size(16 * 1024)
        .max_write_buffer_size(1024 * 1024);
    Ok(ws.on_upgrade(move |socket| serve_socket(socket, follower, after)))
}

/// A send task and a receive task; whichever ends first ends the other.
async fn serve_socket(socket: WebSocket, follower: Follower, after: Option<i64>) {
    let (mut sink, mut stream) = socket.split();
    let fan_out = follower.hub.fan_out_handle().clone();
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
