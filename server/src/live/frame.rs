//! What the hub sends: committed events in batches, each serialised at most once for every
//! connection that wants it.

use axum::extract::ws::Utf8Bytes;
use std::sync::{Arc, OnceLock};
use vigil_wire::StoredEvent;

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
    pub(super) fn new(event: impl Into<Arc<StoredEvent>>) -> Self {
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
pub(super) fn frames(events: impl IntoIterator<Item = StoredEvent>) -> Vec<(i64, Utf8Bytes)> {
    (events.into_iter())
        .map(|event| {
            let event = LiveEvent::new(event);
            (event.seq, event.frame())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::tests::event_of_type;
    use vigil_wire::LiveMessage;

    fn event(seq: i64) -> StoredEvent {
        event_of_type(seq, "auth.logout")
    }

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
}
