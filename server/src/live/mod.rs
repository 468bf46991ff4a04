//! Live fan-out: one hub per process broadcasts each committed event to every open stream.
//!
//! Events reach the hub only through `feed`, which follows the NOTIFY every append sends at
//! COMMIT, so every instance on one database publishes the same stream in the same (seq) order,
//! whichever instance stored the events.

mod feed;
mod follower;
mod socket;

pub use feed::follow_commits;
use socket::to_json;
pub use socket::{__path_stream_doc, router, stream_doc};

use axum::extract::ws::Utf8Bytes;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, watch};
use vigil_wire::{LiveMessage, StoredEvent};

/// How many batches a slow connection may fall behind before it is caught up from the
/// database instead.
const HUB_CAPACITY: usize = 512;
/// Most events in one hub message. Connections wake once per message, not once per event, so
/// busy moments cost a fraction of the wake-ups; the cap bounds the hub's memory.
const EVENTS_PER_MESSAGE: usize = 64;

/// What the hub broadcasts: consecutive committed events, in seq order.
pub type LiveBatch = Arc<[LiveEvent]>;

/// A committed event, serialised once for all connections.
#[derive(Debug)]
pub struct LiveEvent {
    pub seq: i64,
    /// What connections with a filter match against.
    pub event: StoredEvent,
    /// Shared by every connection's frame: cloning it is a reference count, not a copy.
    pub json: Utf8Bytes,
}

#[derive(Clone, Debug)]
pub struct LiveHub {
    sender: broadcast::Sender<LiveBatch>,
    /// The newest published seq. Publishing and subscribing both hold it, so a new subscriber
    /// gets exactly the events after the seq it is told.
    latest_seq: Arc<Mutex<i64>>,
    shutdown: watch::Sender<bool>,
    /// Appends of this process awaiting their NOTIFY, by first seq: publishing them needs no
    /// read from the database.
    staged: Arc<Mutex<BTreeMap<i64, Vec<StoredEvent>>>>,
}

impl Default for LiveHub {
    fn default() -> Self {
        Self::new()
    }
}

impl LiveHub {
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(HUB_CAPACITY);
        let (shutdown, _) = watch::channel(false);
        LiveHub {
            sender,
            latest_seq: Arc::default(),
            shutdown,
            staged: Arc::default(),
        }
    }

    /// Holds an append's events (in seq order, not empty) until the feed sees its NOTIFY.
    pub fn stage(&self, events: Vec<StoredEvent>) {
        let first = events[0].seq;
        self.staged
            .lock()
            .expect("staging lock")
            .insert(first, events);
    }

    /// Drops a staged append whose COMMIT failed.
    pub fn unstage(&self, first_seq: i64) {
        self.staged.lock().expect("staging lock").remove(&first_seq);
    }

    /// The staged append starting at `first_seq`, if this process wrote it; forgets anything
    /// staged before it (published from the database already, or never committed).
    fn take_staged(&self, first_seq: i64) -> Option<Vec<StoredEvent>> {
        let mut staged = self.staged.lock().expect("staging lock");
        let found = staged.remove(&first_seq);
        *staged = staged.split_off(&first_seq);
        found
    }

    /// What heartbeats report before the first event is published.
    fn start_at(&self, seq: i64) {
        let mut latest = self.latest_seq.lock().expect("hub lock");
        *latest = (*latest).max(seq);
    }

    /// Never waits: a slow subscriber only makes its own receiver lag. Called by the feed only,
    /// with consecutive events in seq order.
    fn publish(&self, events: Vec<StoredEvent>) {
        let Some(newest) = events.last().map(|e| e.seq) else {
            return;
        };
        // Nobody is watching: skip serialising (checked again under the lock).
        let batches: Option<Vec<LiveBatch>> =
            (self.sender.receiver_count() > 0).then(|| prepare(&events));
        let mut latest = self.latest_seq.lock().expect("hub lock");
        match batches {
            Some(batches) => {
                for batch in batches {
                    let _ = self.sender.send(batch);
                }
                *latest = newest;
            }
            None if self.sender.receiver_count() == 0 => *latest = newest,
            // Someone subscribed while we looked away: serialise after all.
            None => {
                drop(latest);
                self.publish(events);
            }
        }
    }

    /// A receiver of every event published from now on, and the seq of the newest one published
    /// before it.
    pub fn subscribe(&self) -> (broadcast::Receiver<LiveBatch>, i64) {
        let latest = self.latest_seq.lock().expect("hub lock");
        (self.sender.subscribe(), *latest)
    }

    /// Asks every open stream to close, so graceful shutdown does not wait on browsers.
    pub fn close_all(&self) {
        let _ = self.shutdown.send(true);
    }

    fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }
}

/// Serialises each event once, for every connection, in messages of `EVENTS_PER_MESSAGE`.
fn prepare(events: &[StoredEvent]) -> Vec<LiveBatch> {
    events
        .chunks(EVENTS_PER_MESSAGE)
        .map(|chunk| {
            chunk
                .iter()
                .map(|event| {
                    let message = LiveMessage::Event {
                        event: Box::new(event.clone()),
                    };
                    let json =
                        serde_json::to_string(&message).expect("stored events always serialise");
                    LiveEvent {
                        seq: event.seq,
                        event: event.clone(),
                        json: Utf8Bytes::from(json),
                    }
                })
                .collect()
        })
        .collect()
}
