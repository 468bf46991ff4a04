//! Live fan-out: one hub per process broadcasts each committed event to every open stream.
//!
//! Events reach the hub only through `feed`, which follows the NOTIFY every append sends at
//! COMMIT, so every instance on one database publishes the same stream in the same (seq) order,
//! whichever instance stored the events.

mod catch_up;
mod cpus;
mod feed;
mod follower;
mod group;
mod runtime;
mod socket;

pub use catch_up::{CatchUp, WINDOW};
pub use cpus::{pin_current_thread, LiveCpus};
pub use feed::follow_commits;
pub use group::{FilterGroup, GroupMessage};
pub use runtime::{choose_cpus, WriterCpus, FAN_OUT_NICE};
use socket::to_json;
pub use socket::{__path_stream_doc, router, stream_doc};

use axum::extract::ws::Utf8Bytes;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::runtime::Handle;
use tokio::sync::{broadcast, watch};
use vigil_wire::StoredEvent;

use crate::storage::{EventStore, Staging};

/// How many messages a filter group may fall behind the hub, and a connection behind its group,
/// before it is caught up from the database instead.
pub const HUB_CAPACITY: usize = 512;
/// Most events in one hub message. Connections wake once per message, not once per event, so
/// busy moments cost a fraction of the wake-ups; the cap bounds the hub's memory.
const EVENTS_PER_MESSAGE: usize = 64;

/// What the hub broadcasts: consecutive committed events, in seq order.
pub type LiveBatch = Arc<[LiveEvent]>;

/// A committed event, serialised at most once for all connections.
#[derive(Debug)]
pub struct LiveEvent {
    pub seq: i64,
    /// What filters match against; shared with the writer that staged it.
    pub event: Arc<StoredEvent>,
    /// Its frame, made by the first filter group that matches it (none may): shared by every
    /// connection's frame, so cloning it is a reference count, not a copy.
    frame: OnceLock<Utf8Bytes>,
}

impl LiveEvent {
    fn new(event: impl Into<Arc<StoredEvent>>) -> Self {
        let event = event.into();
        LiveEvent {
            seq: event.seq,
            event,
            frame: OnceLock::new(),
        }
    }

    /// `{"kind":"event","event":{…}}`, as `LiveMessage::Event` serialises, without copying the
    /// event into one.
    pub fn frame(&self) -> Utf8Bytes {
        self.frame
            .get_or_init(|| {
                #[derive(serde::Serialize)]
                struct EventFrame<'a> {
                    kind: &'static str,
                    event: &'a StoredEvent,
                }
                let frame = EventFrame {
                    kind: "event",
                    event: &self.event,
                };
                let json = serde_json::to_string(&frame).expect("stored events always serialise");
                Utf8Bytes::from(json)
            })
            .clone()
    }
}

/// Events read back from the database, as (seq, frame): what groups and replays send.
fn frames(events: impl IntoIterator<Item = StoredEvent>) -> Vec<(i64, Utf8Bytes)> {
    (events.into_iter())
        .map(|event| {
            let event = LiveEvent::new(event);
            (event.seq, event.frame())
        })
        .collect()
}

/// An append's events, staged before its COMMIT, and the token its NOTIFY carries.
type Stage = (u64, Vec<Arc<StoredEvent>>);

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
    /// Reads for connections and groups that fell behind, made on first use.
    catch_up: Arc<OnceLock<CatchUp>>,
    /// What `fan_out_work` counts.
    work: FanOutWork,
}

/// Events matched by filter groups plus events written to connections (not heartbeats), so
/// far: what tells ingest's writer that the fan-out is busy (`WriterCpus`). Shared by the hub,
/// its matchers and its connections.
#[derive(Clone, Debug, Default)]
struct FanOutWork(Arc<AtomicU64>);

impl FanOutWork {
    fn add(&self, items: usize) {
        self.0.fetch_add(items as u64, Ordering::Relaxed);
    }

    fn so_far(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Default for LiveHub {
    fn default() -> Self {
        Self::new()
    }
}

impl LiveHub {
    /// A hub whose fan-out runs on the process's fan-out runtime.
    pub fn new() -> Self {
        Self::on(runtime::fan_out())
    }

    /// A hub whose matchers and connections run on `fan_out` (tests pass a runtime they drive).
    pub fn on(fan_out: Handle) -> Self {
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
            catch_up: Arc::default(),
            work: FanOutWork::default(),
        }
    }

    /// The staged append starting at `first_seq` if this process wrote it (its token matches);
    /// forgets anything staged before it (published from the database already, or never
    /// committed). A NOTIFY without a token (a bulk append) is always read from the database.
    fn take_staged(&self, first_seq: i64, token: Option<u64>) -> Option<Vec<Arc<StoredEvent>>> {
        let mut staged = self.staged.lock().expect("staging lock");
        let found = staged.remove(&first_seq);
        *staged = staged.split_off(&first_seq);
        found
            .filter(|(staged_token, _)| Some(*staged_token) == token)
            .map(|(_, events)| events)
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
        let Some(newest) = events.last().map(|e| e.seq) else {
            return;
        };
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
    /// meanwhile, and idle connections still send heartbeats).
    pub fn fan_out_work(&self) -> u64 {
        self.work.so_far()
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

    /// Where connections and groups read what they fell behind on: `serving`'s database, on
    /// the fan-out's own connections.
    pub fn catch_up(&self, serving: &EventStore) -> CatchUp {
        (self.catch_up.get_or_init(|| CatchUp::new(serving))).clone()
    }

    fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }
}

impl Staging for LiveHub {
    fn stage(&self, events: &[Arc<StoredEvent>]) -> u64 {
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        if self.sender.receiver_count() == 0 {
            // Nobody follows the stream: nothing to keep, and the feed skips
            // the range (or, if someone subscribes meanwhile, reads it from the database).
            return token;
        }
        self.staged
            .lock()
            .expect("staging lock")
            .insert(events[0].seq, (token, events.to_vec()));
        token
    }

    fn unstage(&self, first_seq: i64, token: u64) {
        let mut staged = self.staged.lock().expect("staging lock");
        if staged.get(&first_seq).is_some_and(|(t, _)| *t == token) {
            staged.remove(&first_seq);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_wire::LiveMessage;

    fn event(seq: i64) -> StoredEvent {
        let json = serde_json::json!({"event_type": "auth.logout", "username": "u"});
        crate::ingest::parse_event(json, "test")
            .unwrap()
            .stored(seq, chrono::Utc::now())
    }

    /// A stage is published only for the NOTIFY of the append that staged it: another writer's
    /// append of the same seqs (this writer's append then changed nothing) is read from the
    /// database, never taken for this one.
    #[test]
    fn an_event_frame_is_what_clients_parse_as_a_live_message() {
        let event = event(7);
        let frame = LiveEvent::new(event.clone()).frame();
        let parsed: LiveMessage = serde_json::from_str(frame.as_str()).unwrap();
        assert_eq!(
            parsed,
            LiveMessage::Event {
                event: Box::new(event.clone())
            }
        );
        let message = LiveMessage::Event {
            event: Box::new(event),
        };
        assert_eq!(frame.as_str(), serde_json::to_string(&message).unwrap());
    }

    /// With nobody subscribed the stream moves on without reading events; a subscriber then
    /// starts after them, and once someone is subscribed nothing is skipped.
    #[test]
    fn unwatched_ranges_are_skipped_only_while_nobody_subscribes() {
        let hub = LiveHub::new();
        assert_eq!(
            hub.stage(&[event(1).into()]).wrapping_add(1),
            hub.stage(&[event(2).into()])
        );
        assert!(
            hub.take_staged(1, None).is_none(),
            "nothing staged for nobody"
        );
        assert!(hub.skip_unwatched(2));
        let (_receiver, newest) = hub.subscribe();
        assert_eq!(newest, 2, "a subscriber starts after what was skipped");
        assert!(!hub.skip_unwatched(3));
        let token = hub.stage(&[event(3).into()]);
        assert!(
            hub.take_staged(3, Some(token)).is_some(),
            "staged once someone listens"
        );
    }

    #[test]
    fn staged_events_are_taken_only_with_their_token() {
        let hub = LiveHub::new();
        let _listener = hub.subscribe();
        let token = hub.stage(&[event(5).into(), event(6).into()]);
        assert!(hub.take_staged(5, Some(token.wrapping_add(1))).is_none());
        assert!(
            hub.take_staged(5, Some(token)).is_none(),
            "a mismatch drops it"
        );

        let token = hub.stage(&[event(5).into()]);
        assert!(hub.take_staged(5, None).is_none(), "a bulk append's NOTIFY");
        let token_again = hub.stage(&[event(5).into()]);
        assert_ne!(token, token_again);
        hub.unstage(5, token);
        let taken = hub.take_staged(5, Some(token_again)).expect("still staged");
        assert_eq!(taken.iter().map(|e| e.seq).collect::<Vec<_>>(), [5]);
    }
}
