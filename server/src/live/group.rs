//! Filter groups: connections that follow the same filter share one matcher.
//!
//! Each hub message is matched once per distinct filter, not once per connection, and a
//! connection wakes only when its filter matched something. With many analysts on the same
//! views (the live feed, the three presets) that is the difference between the hub's work
//! growing with connections and growing with views: 200 connections on a filter nothing matches
//! cost one match per event, and no wake-ups at all.

use axum::extract::ws::Utf8Bytes;
use chrono::Utc;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, oneshot};
use vigil_wire::EventFilter;

use super::{frames, CatchUp, LiveBatch, LiveHub, EVENTS_PER_MESSAGE, HUB_CAPACITY};
use crate::cpus::FanOutWork;
use crate::storage::StorageError;

/// Events per database read when a group catches up.
const CATCH_UP_PAGE: u32 = 500;

/// What a group sends its connections.
#[derive(Clone, Debug)]
pub enum GroupMessage {
    /// Matching events, in seq order: (seq, frame).
    Events(Arc<[(i64, Utf8Bytes)]>),
    /// The group fell behind the hub and skipped events: read them from the database.
    Gap,
}

/// One filter's matcher, shared by its connections; its task ends with the last of them.
#[derive(Debug)]
pub struct FilterGroup {
    /// Its filter, serialised: what names it among the hub's groups and the replay windows.
    key: String,
    shared: Arc<Shared>,
    /// Dropped with the group (its last connection): tells the task to stop.
    _stop: oneshot::Sender<()>,
}

#[derive(Debug)]
struct Shared {
    sender: broadcast::Sender<GroupMessage>,
    /// The newest seq the group has matched. Sending and subscribing both hold it, so a new
    /// connection gets exactly the matches after the seq it is told.
    through: Mutex<i64>,
}

impl FilterGroup {
    /// A receiver of every match from now on, and the seq through which the group had matched
    /// before it.
    pub fn subscribe(&self) -> (broadcast::Receiver<GroupMessage>, i64) {
        let through = self.shared.through.lock().expect("group lock");
        (self.shared.sender.subscribe(), *through)
    }

    /// The seq through which the group has matched: a connection that has received every
    /// message sent before this was read has everything through it.
    pub fn through(&self) -> i64 {
        *self.shared.through.lock().expect("group lock")
    }

    /// Its filter, serialised.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// The groups of one hub, by filter; entries of groups whose connections have all gone are
/// replaced when that filter is followed again.
pub type Groups = Arc<Mutex<HashMap<String, Weak<FilterGroup>>>>;

impl LiveHub {
    /// The group following `filter` (`fingerprint`: its session id's fingerprint), started if
    /// nobody follows it yet; it reads what it falls behind on from `store`'s database, through
    /// the hub's catch-up reads.
    pub fn group(&self, filter: EventFilter, fingerprint: Option<String>) -> Arc<FilterGroup> {
        let key = serde_json::to_string(&filter).expect("filters serialise");
        let mut groups = self.groups.lock().expect("groups lock");
        if let Some(group) = groups.get(&key).and_then(Weak::upgrade) {
            return group;
        }
        groups.retain(|_, group| group.strong_count() > 0);
        let group = self.start_group(key.clone(), filter, fingerprint, self.catch_up());
        groups.insert(key, Arc::downgrade(&group));
        group
    }

    fn start_group(
        &self,
        key: String,
        filter: EventFilter,
        fingerprint: Option<String>,
        catch_up: CatchUp,
    ) -> Arc<FilterGroup> {
        let (events, newest) = self.subscribe();
        let (sender, _) = broadcast::channel(HUB_CAPACITY);
        let shared = Arc::new(Shared {
            sender,
            through: Mutex::new(newest),
        });
        let (stop, stopped) = oneshot::channel();
        let matcher = Matcher {
            shared: shared.clone(),
            filter,
            fingerprint,
            catch_up,
            work: self.work.clone(),
        };
        self.fan_out.spawn(matcher.run(events, stopped));
        Arc::new(FilterGroup {
            key,
            shared,
            _stop: stop,
        })
    }
}

struct Matcher {
    shared: Arc<Shared>,
    filter: EventFilter,
    fingerprint: Option<String>,
    catch_up: CatchUp,
    /// The hub's count of fan-out work (`LiveHub::fan_out_work`).
    work: FanOutWork,
}

impl Matcher {
    async fn run(
        self,
        mut events: broadcast::Receiver<LiveBatch>,
        mut stopped: oneshot::Receiver<()>,
    ) {
        loop {
            let received = tokio::select! {
                received = events.recv() => received,
                _ = &mut stopped => return,
            };
            match received {
                Ok(batch) => self.publish(&batch),
                Err(RecvError::Lagged(_)) => {
                    // The oldest batch the hub still holds: what was skipped ends before it.
                    let batch = loop {
                        let received = tokio::select! {
                            received = events.recv() => received,
                            _ = &mut stopped => return,
                        };
                        match received {
                            Ok(batch) => break batch,
                            Err(RecvError::Lagged(_)) => continue,
                            Err(RecvError::Closed) => return,
                        }
                    };
                    let Some(before) = batch.first().map(|e| e.seq) else {
                        continue;
                    };
                    if self.catch_up(before).await.is_err() {
                        // Its connections try the database themselves (and, if it is down,
                        // tell their clients where to resume). Sent and moved under one lock,
                        // so a connection that joins now starts after the skipped range.
                        let mut through = self.shared.through.lock().expect("group lock");
                        let _ = self.shared.sender.send(GroupMessage::Gap);
                        *through = (*through).max(before - 1);
                    }
                    self.publish(&batch);
                }
                Err(RecvError::Closed) => return,
            }
        }
    }

    /// Reads the matches the group skipped (after `through`, before `before`) from the database,
    /// once for all its connections: a burst that outruns the fan-out costs one read per
    /// filter, not one per connection.
    async fn catch_up(&self, before: i64) -> Result<(), StorageError> {
        loop {
            if Arc::strong_count(&self.shared) == 1 {
                return Ok(()); // its connections have all gone: the matcher is stopping
            }
            let through = *self.shared.through.lock().expect("group lock");
            let page = (self.catch_up)
                .matching_after(&self.filter, through, CATCH_UP_PAGE)
                .await?;
            let full = page.len() == CATCH_UP_PAGE as usize;
            let skipped = frames(page.into_iter().take_while(|e| e.seq < before));
            let read_all = !full || skipped.len() < CATCH_UP_PAGE as usize;
            let mut through = self.shared.through.lock().expect("group lock");
            // In messages no larger than the hub's, so the group's buffer holds as much.
            for chunk in skipped.chunks(EVENTS_PER_MESSAGE) {
                let _ = (self.shared.sender).send(GroupMessage::Events(chunk.into()));
            }
            let reached = match skipped.last() {
                _ if read_all => before - 1,
                Some((last, _)) => *last,
                None => *through,
            };
            *through = (*through).max(reached);
            if read_all {
                return Ok(());
            }
        }
    }

    /// Sends the batch's matches (if any) and moves `through` past the batch.
    fn publish(&self, batch: &LiveBatch) {
        let Some(last) = batch.last().map(|e| e.seq) else {
            return;
        };
        let now = Utc::now();
        let fingerprint = self.fingerprint.as_deref();
        let matches: Arc<[(i64, Utf8Bytes)]> = batch
            .iter()
            .filter(|e| self.filter.matches(&e.event, fingerprint, now))
            .map(|e| (e.seq, e.frame()))
            .collect();
        let mut through = self.shared.through.lock().expect("group lock");
        if !matches.is_empty() {
            self.work.add(matches.len());
            let _ = self.shared.sender.send(GroupMessage::Events(matches));
        }
        *through = (*through).max(last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::tests::{event_of_type as event, unreachable_store};
    use std::time::Duration;

    /// A hub whose matchers run on the test's runtime, over a database that is never there.
    fn hub_on_unreachable_store() -> LiveHub {
        LiveHub::on(tokio::runtime::Handle::current(), unreachable_store())
    }

    fn filter(query: &str) -> EventFilter {
        let params = form_urlencoded::parse(query.as_bytes());
        let pairs: Vec<(String, String)> = params.into_owned().collect();
        EventFilter::from_params(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap()
    }

    #[tokio::test]
    async fn connections_on_one_filter_share_a_matcher_that_stops_with_the_last() {
        let hub = hub_on_unreachable_store();
        let failures = hub.group(filter("type=auth.login.failure"), None);
        let again = hub.group(filter("type=auth.login.failure"), None);
        let everything = hub.group(EventFilter::default(), None);
        assert!(Arc::ptr_eq(&failures, &again));
        assert!(!Arc::ptr_eq(&failures, &everything));
        assert_eq!(
            hub.sender.receiver_count(),
            2,
            "one hub receiver per filter"
        );

        drop((failures, again, everything));
        let stopped = async {
            while hub.sender.receiver_count() > 0 {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), stopped)
            .await
            .expect("the matchers stop once nobody follows their filter");
        let fresh = hub.group(filter("type=auth.login.failure"), None);
        assert_eq!(
            hub.sender.receiver_count(),
            1,
            "followed again: a new matcher"
        );
        assert_eq!(
            hub.groups.lock().unwrap().len(),
            1,
            "dead entries are dropped"
        );
        drop(fresh);
    }

    /// A matcher that falls more than the hub's buffer behind and cannot read the database
    /// either tells its connections to read it, then goes on with what the hub still holds.
    /// (With the database there, it reads what it skipped itself: `tests/live_groups.rs`.)
    #[tokio::test]
    async fn a_matcher_that_lags_the_hub_reports_a_gap() {
        let hub = hub_on_unreachable_store();
        let group = hub.group(EventFilter::default(), None);
        let (mut receiver, _) = group.subscribe();
        // The test's runtime has one thread: the matcher runs only once this test awaits.
        let published = HUB_CAPACITY as i64 + 10;
        for seq in 1..=published {
            hub.publish(vec![event(seq, "auth.logout")]);
        }
        let limit = Duration::from_secs(5);
        let first = tokio::time::timeout(limit, receiver.recv())
            .await
            .expect("a message");
        assert!(matches!(first, Ok(GroupMessage::Gap)), "got {first:?}");
        let second = tokio::time::timeout(limit, receiver.recv())
            .await
            .expect("a message");
        let Ok(GroupMessage::Events(events)) = second else {
            panic!("events after the gap");
        };
        assert_eq!(
            events[0].0,
            published - HUB_CAPACITY as i64 + 1,
            "the oldest kept"
        );
    }

    #[tokio::test]
    async fn a_group_sends_only_matches_and_moves_past_the_rest() {
        let hub = hub_on_unreachable_store();
        let group = hub.group(filter("type=auth.login.failure"), None);
        let (mut receiver, through) = group.subscribe();
        assert_eq!(through, 0);
        hub.publish(vec![
            event(1, "auth.login.success"),
            event(2, "auth.login.failure"),
            event(3, "auth.logout"),
        ]);
        let message = tokio::time::timeout(Duration::from_secs(5), receiver.recv())
            .await
            .expect("a message")
            .unwrap();
        let GroupMessage::Events(events) = message else {
            panic!("expected events, got {message:?}");
        };
        assert_eq!(events.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), [2]);
        assert!(events[0].1.as_str().contains(r#""seq":2"#));
        // Sent and moved under one lock: the batch's end is the resume point now.
        assert_eq!(group.through(), 3);

        hub.publish(vec![event(4, "auth.logout")]);
        let moved = async {
            while group.through() < 4 {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), moved)
            .await
            .expect("through moves past events nobody here wants");
        assert!(receiver.try_recv().is_err(), "and sends nothing for them");
    }
}
