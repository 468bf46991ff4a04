//! Staging: the writer shows the hub each append before its COMMIT, so that the feed can publish
//! it when the NOTIFY arrives without reading it back. A stage is identified by the append's
//! first seq and a token its NOTIFY carries, so events staged for a range another writer won
//! are never mistaken for that writer's.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use vigil_wire::StoredEvent;

use super::LiveHub;
use crate::storage::Staging;

/// An append's events, staged before its COMMIT, and the token its NOTIFY carries.
pub(super) type Stage = (u64, Vec<Arc<StoredEvent>>);

impl LiveHub {
    /// The staged append starting at `first_seq` if this process wrote it (its token matches);
    /// forgets anything staged before it (published from the database already, or never
    /// committed). A NOTIFY without a token (a bulk append) is always read from the database.
    pub(super) fn take_staged(
        &self,
        first_seq: i64,
        token: Option<u64>,
    ) -> Option<Vec<Arc<StoredEvent>>> {
        let mut staged = self.staged.lock().expect("staging lock");
        let found = staged.remove(&first_seq);
        *staged = staged.split_off(&first_seq);
        found
            .filter(|(staged_token, _)| Some(*staged_token) == token)
            .map(|(_, events)| events)
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

/// A stage is published only for the NOTIFY of the append that staged it: another writer's
/// append of the same seqs (this writer's append then changed nothing) is read from the
/// database, never taken for this one.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::tests::{event_of_type, unreachable_store};

    fn event(seq: i64) -> StoredEvent {
        event_of_type(seq, "auth.logout")
    }

    /// With nobody subscribed the stream moves on without reading events; a subscriber then
    /// starts after them, and once someone is subscribed nothing is skipped.
    #[tokio::test]
    async fn unwatched_ranges_are_skipped_only_while_nobody_subscribes() {
        let hub = LiveHub::new(unreachable_store());
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

    #[tokio::test]
    async fn staged_events_are_taken_only_with_their_token() {
        let hub = LiveHub::new(unreachable_store());
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
