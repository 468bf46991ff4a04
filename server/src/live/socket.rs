//! `GET /api/v1/stream`: a WebSocket that forwards the hub's events, one JSON text frame each.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use futures::stream::SplitSink;
use futures::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use vigil_wire::{EventFilter, LiveMessage};

use super::LiveHub;
use crate::auth::ReadAccess;
use crate::error::ApiError;
use crate::ingest::session_fingerprint;
use crate::read_api::{parse_query, FilterParams};
use crate::startup::AppState;
use crate::storage::EventStore;

/// Often enough for proxies and browsers to keep the connection, rare enough to cost nothing.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(15);
/// How long one frame may wait for a client that does not read.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Events per database read when replaying.
const REPLAY_PAGE: u32 = 500;

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
    let follower = Follower {
        hub,
        store,
        fingerprint: filter.session.as_deref().map(session_fingerprint),
        filter,
    };
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

/// What one connection follows.
struct Follower {
    hub: LiveHub,
    store: EventStore,
    filter: EventFilter,
    /// Computed once: the filter compares fingerprints, never raw session ids.
    fingerprint: Option<String>,
}

/// A send task and a receive task; whichever ends first ends the other.
async fn serve_socket(socket: WebSocket, follower: Follower, after: Option<i64>) {
    let (mut sink, mut stream) = socket.split();
    let mut send_task = tokio::spawn(async move {
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

type Sink = SplitSink<WebSocket, Message>;

impl Follower {
    /// Replays from the database when asked (`after`) or when this connection fell behind the
    /// hub, then forwards live events. `delivered` is the seq through which this connection has
    /// everything it should have, so the seam between replay and live has neither a gap nor a
    /// duplicate, and events go out in seq order.
    async fn run(&self, sink: &mut Sink, after: Option<i64>) -> Result<(), &'static str> {
        // Read before subscribing: whatever is published in between is in the receiver.
        let mut delivered = after.unwrap_or_else(|| self.hub.latest_seq());
        let mut events = self.hub.subscribe();
        let mut shutdown = self.hub.shutdown_signal();
        let mut heartbeat = tokio::time::interval(HEARTBEAT_EVERY);
        let mut behind = after.is_some();
        loop {
            if behind {
                if let Err(err) = self.replay(sink, &mut delivered).await {
                    // The client resumes from here once the database is back.
                    let resync = to_json(&LiveMessage::Resync { after: delivered });
                    let _ = send(sink, resync).await;
                    return Err(err);
                }
                behind = false;
            }
            let frame = tokio::select! {
                received = events.recv() => match received {
                    Ok(event) if event.seq <= delivered => continue,
                    Ok(event) => {
                        delivered = event.seq;
                        if !self.filter.matches(&event.event, self.fingerprint.as_deref(), Utc::now()) {
                            continue;
                        }
                        event.json.clone()
                    }
                    // Fell more than the hub's buffer behind: read the rest from the database.
                    Err(RecvError::Lagged(_)) => {
                        behind = true;
                        continue;
                    }
                    Err(RecvError::Closed) => return Ok(()),
                },
                // `delivered`, not the hub's newest: a client may resume from a heartbeat's seq.
                _ = heartbeat.tick() => to_json(&LiveMessage::Heartbeat { seq: delivered }),
                _ = shutdown.changed() => return Ok(()),
            };
            send(sink, frame).await?;
        }
    }

    /// Sends every stored match above `delivered`, oldest first, page by page.
    async fn replay(&self, sink: &mut Sink, delivered: &mut i64) -> Result<(), &'static str> {
        loop {
            let page = self
                .store
                .matching_after(&self.filter, *delivered, REPLAY_PAGE)
                .await
                .map_err(|_| "the database is unavailable")?;
            let full = page.len() == REPLAY_PAGE as usize;
            for event in page {
                *delivered = event.seq;
                let message = LiveMessage::Event {
                    event: Box::new(event),
                };
                send(sink, to_json(&message)).await?;
            }
            if !full {
                return Ok(());
            }
        }
    }
}

/// A client that stops reading is dropped after `SEND_TIMEOUT` rather than held forever.
async fn send(sink: &mut Sink, frame: String) -> Result<(), &'static str> {
    match tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Text(frame.into()))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err("the client went away"),
        Err(_) => Err("the client stopped reading"),
    }
}

fn to_json(message: &LiveMessage) -> String {
    serde_json::to_string(message).expect("live messages always serialise")
}
