//! Live fan-out: one hub per process broadcasts each committed event to every open stream.
//!
//! Events reach the hub only through `feed`, which follows the NOTIFY every append sends at
//! COMMIT, so every instance on one database publishes the same stream in the same (seq) order,
//! whichever instance stored the events.

mod alerts;
mod catch_up;
mod feed;
mod follower;
mod frame;
mod group;
mod runtime;
mod staging;

pub use alerts::{follow_alerts, AlertHub, AlertTap};
pub use catch_up::{CatchUp, WINDOW};
pub use feed::follow_commits;
pub use follower::{
    run_alerts_only, Ended, Follower, Sink, CLIENT_GONE, DATABASE_UNAVAILABLE, SLOW_CLIENT,
};
pub use frame::{LiveBatch, LiveEvent};
pub use group::{FilterGroup, GroupMessage};
pub use runtime::{fan_out, FAN_OUT_NICE};

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::runtime::Handle;
use tokio::sync::{broadcast, watch};
use vigil_wire::{EventFilter, StoredEvent};

use crate::cpus::FanOutWork;
use crate::events::session_fingerprint;
use crate::metrics::Metrics;
use crate::storage::EventStore;
use frame::frames;
use staging::Stage;

/// How many messages a filter group may fall behind the hub, and a connection behind its group,
/// before it is caught up from the database instead.
pub const HUB_CAPACITY: usize = 512;
/// Most events in one hub message. Connections wake once per message, not once per event, so
/// busy moments cost a fraction of the wake-ups; the cap bounds the hub's memory.
const EVENTS_PER_MESSAGE: usize = 64;

#[derive(Clone, Debug)]
pub struct LiveHub {
    sender: broadcast::Sender<LiveBatch>,
    /// The newest published seq. Publishing and subscribing both hold it, so a new subscriber
    /// gets exactly the events after the seq it is told.
    latest_seq: Arc<Mutex<i64>>,
    shutdown: watch::Sender<bool>,
    /// Appends of this process awaiting their NOTIFY, by first seq, with the token the NOTIFY
    /// will carry: publishing them needs no read from the database.
    staged: Arc<Mutex<BTreeMap<i64, Stage>>>,
    /// One matcher per distinct filter being followed.
    groups: group::Groups,
    /// The next stage token; starts at random so that instances do not share tokens.
    next_token: Arc<AtomicU64>,
    /// Where matchers and connections run: the fan-out runtime, below ingest's priority.
    fan_out: Handle,
    /// The serving database: where connections and groups read what they fell behind on.
    store: EventStore,
    /// Reads for connections and groups that fell behind, made on first use.
    catch_up: Arc<OnceLock<CatchUp>>,
    /// What `fan_out_work` counts.
    work: FanOutWork,
    /// Where publication lag, open streams and catch-ups are recorded.
    metrics: Metrics,
}

impl LiveHub {
    /// A hub over `store`'s events whose fan-out runs on the process's fan-out runtime.
    pub fn new(store: EventStore) -> Self {
        Self::on(runtime::fan_out(), store)
    }

    /// A hub whose matchers and connections run on `fan_out` (tests pass a runtime they drive).
    pub fn on(fan_out: Handle, store: EventStore) -> Self {
        let (sender, _) = broadcast::channel(HUB_CAPACITY);
        let (shutdown, _) = watch::channel(false);
        LiveHub {
            sender,
            latest_seq: Arc::default(),
            shutdown,
            staged: Arc::default(),
            groups: Arc::default(),
            // The low half of a UUIDv7 is random.
            next_token: Arc::new(AtomicU64::new(uuid::Uuid::now_v7().as_u64_pair().1)),
            fan_out,
            store,
            catch_up: Arc::default(),
            work: FanOutWork::default(),
            metrics: Metrics::default(),
        }
    }

    /// The same hub, recording into `metrics`.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Where streams record what happens to them.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// What heartbeats report before the first event is published.
    fn start_at(&self, seq: i64) {
        let mut latest = self.latest_seq.lock().expect("hub lock");
        *latest = (*latest).max(seq);
    }

    /// Never waits: a slow subscriber only makes its own receiver lag. Called by the feed only,
    /// with consecutive events in seq order.
    fn publish<E: Into<Arc<StoredEvent>>>(&self, events: Vec<E>) {
        let events: Vec<Arc<StoredEvent>> = events.into_iter().map(Into::into).collect();
        let Some(newest) = events.last() else {
            return;
        };
        let lag = chrono::Utc::now() - newest.received_at;
        (self.metrics.live_publish_lag).observe(lag.to_std().map_or(0.0, |d| d.as_secs_f64()));
        let newest = newest.seq;
        let mut latest = self.latest_seq.lock().expect("hub lock");
        // Nobody is watching: nothing to send.
        if self.sender.receiver_count() > 0 {
            let mut events = events.into_iter().map(LiveEvent::new).peekable();
            while events.peek().is_some() {
                let batch: LiveBatch = events.by_ref().take(EVENTS_PER_MESSAGE).collect();
                let _ = self.sender.send(batch);
            }
        }
        *latest = newest;
    }

    /// Moves the stream past `last` without its events when nobody follows it; false when
    /// someone does (then the events must be published). Under the lock subscribers take, so a
    /// new subscriber either is counted here or starts after `last`.
    fn skip_unwatched(&self, last: i64) -> bool {
        let mut latest = self.latest_seq.lock().expect("hub lock");
        let unwatched = self.sender.receiver_count() == 0;
        if unwatched {
            *latest = (*latest).max(last);
        }
        unwatched
    }

    /// Events matched by filter groups plus events written to connections (not heartbeats), so
    /// far: whether the fan-out has work (connections replaying from the database match nothing
    /// meanwhile, and idle connections still send heartbeats). Ingest's writer follows it.
    pub fn fan_out_work(&self) -> FanOutWork {
        self.work.clone()
    }

    /// A new connection's follower of `filter`: it joins (or starts) the filter's group.
    pub fn follow(&self, filter: EventFilter) -> Follower {
        let fingerprint = filter.session.as_deref().map(session_fingerprint);
        let group = self.group(filter.clone(), fingerprint);
        Follower {
            subscription: Some(group.subscribe()),
            group,
            catch_up: self.catch_up(),
            hub: self.clone(),
            filter,
        }
    }

    /// Where the hub's own feed reads events it did not stage.
    fn store(&self) -> &EventStore {
        &self.store
    }

    /// A receiver of every event published from now on, and the seq of the newest one published
    /// before it.
    pub fn subscribe(&self) -> (broadcast::Receiver<LiveBatch>, i64) {
        let latest = self.latest_seq.lock().expect("hub lock");
        (self.sender.subscribe(), *latest)
    }

    /// Whether shutdown has begun (`close_all`).
    pub fn is_closing(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Asks every open stream to close, so graceful shutdown does not wait on browsers.
    pub fn close_all(&self) {
        let _ = self.shutdown.send(true);
    }

    /// Where connections and groups read what they fell behind on: the serving database, on
    /// the fan-out's own connections.
    fn catch_up(&self) -> CatchUp {
        (self.catch_up.get_or_init(|| CatchUp::new(&self.store))).clone()
    }

    /// The runtime a connection's sending half runs on, below ingest's priority.
    pub fn fan_out_handle(&self) -> &Handle {
        &self.fan_out
    }

    fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A stored event of `event_type` by user `u` at `seq`, as the hub would publish it.
    pub(crate) fn event_of_type(seq: i64, event_type: &str) -> StoredEvent {
        crate::events::NewEvent {
            username: Some("u".into()),
            ..crate::events::NewEvent::of_type(event_type, "test")
        }
        .stored(seq, chrono::Utc::now())
    }

    /// A store whose database is never there: for hubs whose tests read nothing back.
    pub(crate) fn unreachable_store() -> EventStore {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .acquire_timeout(std::time::Duration::from_millis(200))
            .connect_lazy("postgres://vigil@127.0.0.1:1/nowhere")
            .expect("a lazy pool");
        EventStore::new(pool)
    }
}
