//! Live fan-out: one hub per process broadcasts each committed event to every open stream.
//!
//! Events reach the hub only through `feed`, which follows the NOTIFY every append sends at
//! COMMIT, so every instance on one database publishes the same stream in the same (seq) order,
//! whichever instance stored the events.

mod feed;
mod socket;

pub use feed::follow_commits;
pub use socket::{__path_stream_doc, router, stream_doc};

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, watch};
use vigil_wire::{LiveMessage, StoredEvent};

/// How many events a slow connection may fall behind before it is told to resynchronise.
const HUB_CAPACITY: usize = 4096;

/// A committed event, serialised once for all connections.
#[derive(Debug)]
pub struct LiveEvent {
    pub seq: i64,
    /// What connections with a filter match against.
    pub event: StoredEvent,
    pub json: String,
}

#[derive(Clone, Debug)]
pub struct LiveHub {
    sender: broadcast::Sender<Arc<LiveEvent>>,
    latest_seq: Arc<AtomicI64>,
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
            latest_seq: Arc::new(AtomicI64::new(0)),
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
        self.latest_seq.fetch_max(seq, Ordering::Relaxed);
    }

    /// Never waits: a slow subscriber only makes its own receiver lag. Called by the feed only,
    /// in seq order.
    fn publish(&self, event: StoredEvent) {
        let seq = event.seq;
        self.latest_seq.fetch_max(seq, Ordering::Relaxed);
        if self.sender.receiver_count() == 0 {
            // Nobody is watching: skip serialising on the ingest path.
            return;
        }
        let message = LiveMessage::Event {
            event: Box::new(event.clone()),
        };
        let json = serde_json::to_string(&message).expect("stored events always serialise");
        // No subscribers is fine: nobody is watching.
        let _ = self.sender.send(Arc::new(LiveEvent { seq, event, json }));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.sender.subscribe()
    }

    pub fn latest_seq(&self) -> i64 {
        self.latest_seq.load(Ordering::Relaxed)
    }

    /// Asks every open stream to close, so graceful shutdown does not wait on browsers.
    pub fn close_all(&self) {
        let _ = self.shutdown.send(true);
    }

    fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }
}
