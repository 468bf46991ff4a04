//! One stream connection's sender: replay from the database, then the hub's live events, in seq
//! order, filtered, with neither a gap nor a duplicate at any seam.

use axum::extract::ws::{Message, Utf8Bytes, WebSocket};
use futures::stream::SplitSink;
use futures::SinkExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use vigil_wire::{EventFilter, LiveMessage};

use super::alerts::AlertTap;
use super::catch_up::WINDOW;
use super::group::{FilterGroup, GroupMessage};
use super::{CatchUp, LiveHub};

/// Often enough for proxies and browsers to keep the connection, rare enough to cost nothing.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(15);
/// How long a write may wait for a client that does not read before the connection is closed.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Events per database read when replaying.
const REPLAY_PAGE: u32 = 500;
/// Frames written before one flush when events queue up: one syscall for many events.
const FRAMES_PER_FLUSH: usize = 256;

pub type Sink = SplitSink<WebSocket, Message>;

/// What one connection follows: its filter's group for live events, the database for replays.
pub struct Follower {
    pub hub: LiveHub,
    pub catch_up: CatchUp,
    pub filter: EventFilter,
    pub group: Arc<FilterGroup>,
    /// The group's matches from the moment the stream was admitted, and the seq through which
    /// it had matched then. Taken when the request is admitted, not when the sender first runs
    /// on the fan-out's threads: a busy fan-out starts senders late, and an event committed
    /// after the handshake must still reach the client. `run` takes it.
    pub subscription: Option<(broadcast::Receiver<GroupMessage>, i64)>,
}

/// Why a connection ended early.
pub type Ended = &'static str;
pub const CLIENT_GONE: Ended = "the client went away";
pub const SLOW_CLIENT: Ended = "the client stopped reading";
pub const DATABASE_UNAVAILABLE: Ended = "the database is unavailable";

impl Follower {
    /// Replays from the database when asked (`after`) or when this connection fell behind its
    /// group, then forwards the group's matches. `delivered` is the seq through which this
    /// connection has everything it should have; it is what heartbeats report and where replays
    /// start.
    pub async fn run(
        mut self,
        sink: &mut Sink,
        after: Option<i64>,
        mut alerts: Option<AlertTap>,
    ) -> Result<(), Ended> {
        let (mut events, through) =
            (self.subscription.take()).unwrap_or_else(|| self.group.subscribe());
        let mut delivered = after.unwrap_or(through);
        let mut shutdown = self.hub.shutdown_signal();
        let mut heartbeat = tokio::time::interval(HEARTBEAT_EVERY);
        let mut behind = after.is_some();
        loop {
            if behind {
                self.hub.metrics().live_catch_ups.inc();
                if let Err(err) = self.replay(sink, &mut delivered).await {
                    // The client resumes from here once the database is back.
                    let resync = to_json(&LiveMessage::Resync { after: delivered });
                    let _ = write(sink, vec![resync.into()]).await;
                    return Err(err);
                }
                behind = false;
            }
            let mut frames = Vec::new();
            // The group's position, read before draining: once every message sent before it has
            // been read, this connection has everything through it, matched or not.
            let mut through = None;
            tokio::select! {
                received = events.recv() => match received {
                    Ok(message) => behind = take(message, &mut delivered, &mut frames),
                    // Fell more than the group's buffer behind: read the rest from the database.
                    Err(RecvError::Lagged(_)) => behind = true,
                    Err(RecvError::Closed) => return Ok(()),
                },
                _ = heartbeat.tick() => through = Some(self.group.through()),
                _ = shutdown.changed() => return Ok(()),
                alert_frames = next_alerts(&mut alerts) => {
                    write(sink, alert_frames?).await?;
                    continue;
                }
            }
            // Whatever else is already queued goes out with it.
            let mut drained = false;
            while !behind && frames.len() < FRAMES_PER_FLUSH {
                match events.try_recv() {
                    Ok(message) => behind = take(message, &mut delivered, &mut frames),
                    Err(TryRecvError::Lagged(_)) => behind = true,
                    Err(TryRecvError::Empty) => {
                        drained = true;
                        break;
                    }
                    Err(TryRecvError::Closed) => return Ok(()),
                }
            }
            self.hub.work.add(frames.len()); // events only: heartbeats are no work
            if let Some(through) = through {
                if drained && !behind {
                    delivered = delivered.max(through);
                }
                // `delivered`, not the newest seq: a client may resume from a heartbeat's seq.
                frames.push(to_json(&LiveMessage::Heartbeat { seq: delivered }).into());
            }
            write(sink, frames).await?;
        }
    }

    /// Sends every stored match above `delivered`, oldest first: far behind, in windows it
    /// shares with the other connections of its filter; near the present, page by page.
    async fn replay(&self, sink: &mut Sink, delivered: &mut i64) -> Result<(), Ended> {
        self.replay_windows(sink, delivered).await?;
        loop {
            let page = self
                .catch_up
                .matching_after(&self.filter, *delivered, REPLAY_PAGE)
                .await
                .map_err(|_| DATABASE_UNAVAILABLE)?;
            let full = page.len() == REPLAY_PAGE as usize;
            let Some(last) = page.last().map(|e| e.seq) else {
                return Ok(());
            };
            let frames: Vec<Utf8Bytes> = page
                .into_iter()
                .map(|event| {
                    let message = LiveMessage::Event {
                        event: Box::new(event),
                    };
                    to_json(&message).into()
                })
                .collect();
            self.hub.work.add(frames.len());
            write(sink, frames).await?;
            *delivered = last;
            if !full {
                return Ok(());
            }
        }
    }

    /// Sends whole shared windows while the group has matched past the next one's end (so
    /// every event in it is committed). A filter that matches little leaves a window nearly
    /// empty: then pages of matches skip ahead faster, and this stops.
    async fn replay_windows(&self, sink: &mut Sink, delivered: &mut i64) -> Result<(), Ended> {
        let key = self.group.key();
        loop {
            let start = *delivered - delivered.rem_euclid(WINDOW);
            if start + WINDOW > self.group.through() {
                return Ok(());
            }
            let window = (self.catch_up.window(key, &self.filter, start).await)
                .map_err(|_| DATABASE_UNAVAILABLE)?;
            let frames: Vec<Utf8Bytes> = (window.iter())
                .filter(|(seq, _)| *seq > *delivered)
                .map(|(_, frame)| frame.clone())
                .collect();
            self.hub.work.add(frames.len());
            write(sink, frames).await?;
            *delivered = start + WINDOW;
            if window.len() < SPARSE_WINDOW {
                return Ok(());
            }
        }
    }
}

/// The next alert frames, for a stream that asked for them; never, for one that did not.
async fn next_alerts(alerts: &mut Option<AlertTap>) -> Result<Vec<Utf8Bytes>, Ended> {
    match alerts {
        Some(tap) => tap.next().await,
        None => std::future::pending().await,
    }
}

/// A stream of alerts alone (`events=false`): their changes and, every 15 s, a heartbeat
/// carrying the alert change seq through which it has everything.
pub async fn run_alerts_only(
    hub: &LiveHub,
    sink: &mut Sink,
    mut tap: AlertTap,
) -> Result<(), Ended> {
    let mut shutdown = hub.shutdown_signal();
    let mut heartbeat = tokio::time::interval(HEARTBEAT_EVERY);
    loop {
        let frames = tokio::select! {
            frames = tap.next() => frames?,
            _ = heartbeat.tick() => {
                vec![to_json(&LiveMessage::Heartbeat { seq: tap.delivered() }).into()]
            }
            _ = shutdown.changed() => return Ok(()),
        };
        write(sink, frames).await?;
    }
}

/// Fewer matches than this in a window: the filter is sparse, replay by pages of matches.
const SPARSE_WINDOW: usize = WINDOW as usize / 8;

/// Adds the frames of a group message's events new to this connection (a replay may have sent
/// some); true when the group skipped events and the connection must read the database.
fn take(message: GroupMessage, delivered: &mut i64, frames: &mut Vec<Utf8Bytes>) -> bool {
    match message {
        GroupMessage::Events(events) => {
            for (seq, frame) in events.iter() {
                if *seq > *delivered {
                    *delivered = *seq;
                    frames.push(frame.clone());
                }
            }
            false
        }
        GroupMessage::Gap => true,
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
        Ok(Err(_)) => Err(CLIENT_GONE),
        Err(_) => Err(SLOW_CLIENT),
    }
}

fn to_json(message: &LiveMessage) -> String {
    serde_json::to_string(message).expect("live messages always serialise")
}
