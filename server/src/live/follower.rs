//! One stream connection's sender: replay from the database, then the hub's live events, in seq
//! order, filtered, with neither a gap nor a duplicate at any seam.

use axum::extract::ws::{Message, Utf8Bytes, WebSocket};
use chrono::Utc;
use futures::stream::SplitSink;
use futures::SinkExt;
use std::time::Duration;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use vigil_wire::{EventFilter, LiveMessage};

use super::{LiveBatch, LiveHub};
use crate::storage::EventStore;

/// Often enough for proxies and browsers to keep the connection, rare enough to cost nothing.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(15);
/// How long a write may wait for a client that does not read before the connection is closed.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Events per database read when replaying.
const REPLAY_PAGE: u32 = 500;
/// Frames written before one flush when events queue up: one syscall for many events.
const FRAMES_PER_FLUSH: usize = 256;

pub type Sink = SplitSink<WebSocket, Message>;

/// What one connection follows.
pub struct Follower {
    pub hub: LiveHub,
    pub store: EventStore,
    pub filter: EventFilter,
    /// Computed once: the filter compares fingerprints, never raw session ids.
    pub fingerprint: Option<String>,
}

/// Why a connection ended early.
pub type Ended = &'static str;

impl Follower {
    /// Replays from the database when asked (`after`) or when this connection fell behind the
    /// hub, then forwards live events. `delivered` is the seq through which this connection has
    /// everything it should have; it is what heartbeats report and where replays start.
    pub async fn run(&self, sink: &mut Sink, after: Option<i64>) -> Result<(), Ended> {
        let (mut events, newest) = self.hub.subscribe();
        let mut delivered = after.unwrap_or(newest);
        let mut shutdown = self.hub.shutdown_signal();
        let mut heartbeat = tokio::time::interval(HEARTBEAT_EVERY);
        let mut behind = after.is_some();
        loop {
            if behind {
                if let Err(err) = self.replay(sink, &mut delivered).await {
                    // The client resumes from here once the database is back.
                    let resync = super::to_json(&LiveMessage::Resync { after: delivered });
                    let _ = write(sink, vec![resync.into()]).await;
                    return Err(err);
                }
                behind = false;
            }
            let mut frames = Vec::new();
            tokio::select! {
                received = events.recv() => match received {
                    Ok(batch) => self.frames(&batch, &mut delivered, &mut frames),
                    // Fell more than the hub's buffer behind: read the rest from the database.
                    Err(RecvError::Lagged(_)) => behind = true,
                    Err(RecvError::Closed) => return Ok(()),
                },
                // `delivered`, not the hub's newest: a client may resume from a heartbeat's seq.
                _ = heartbeat.tick() => {
                    frames.push(super::to_json(&LiveMessage::Heartbeat { seq: delivered }).into());
                }
                _ = shutdown.changed() => return Ok(()),
            }
            // Whatever else is already queued goes out with it.
            while !behind && frames.len() < FRAMES_PER_FLUSH {
                match events.try_recv() {
                    Ok(batch) => self.frames(&batch, &mut delivered, &mut frames),
                    Err(TryRecvError::Lagged(_)) => behind = true,
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Closed) => return Ok(()),
                }
            }
            write(sink, frames).await?;
        }
    }

    /// The frames to send for live events: those new to this connection that match.
    fn frames(&self, batch: &LiveBatch, delivered: &mut i64, frames: &mut Vec<Utf8Bytes>) {
        let now = Utc::now();
        for event in batch.iter() {
            if event.seq <= *delivered {
                continue; // sent by a replay already
            }
            *delivered = event.seq;
            if self
                .filter
                .matches(&event.event, self.fingerprint.as_deref(), now)
            {
                frames.push(event.json.clone());
            }
        }
    }

    /// Sends every stored match above `delivered`, oldest first, page by page.
    async fn replay(&self, sink: &mut Sink, delivered: &mut i64) -> Result<(), Ended> {
        loop {
            let page = self
                .store
                .matching_after(&self.filter, *delivered, REPLAY_PAGE)
                .await
                .map_err(|_| "the database is unavailable")?;
            let full = page.len() == REPLAY_PAGE as usize;
            let Some(last) = page.last().map(|e| e.seq) else {
                return Ok(());
            };
            let frames = page
                .into_iter()
                .map(|event| {
                    let message = LiveMessage::Event {
                        event: Box::new(event),
                    };
                    super::to_json(&message).into()
                })
                .collect();
            write(sink, frames).await?;
            *delivered = last;
            if !full {
                return Ok(());
            }
        }
    }
}

/// Writes the frames and flushes once; a client that stops reading is dropped after
/// `SEND_TIMEOUT` rather than held forever.
async fn write(sink: &mut Sink, frames: Vec<Utf8Bytes>) -> Result<(), Ended> {
    if frames.is_empty() {
        return Ok(());
    }
    let writing = async {
        for frame in frames {
            sink.feed(Message::Text(frame)).await?;
        }
        sink.flush().await
    };
    match tokio::time::timeout(SEND_TIMEOUT, writing).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err("the client went away"),
        Err(_) => Err("the client stopped reading"),
    }
}
