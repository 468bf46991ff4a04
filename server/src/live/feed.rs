//! The feed: turns the NOTIFYs of committed appends (from any instance) into hub events.
//!
//! Appends commit in seq order with gapless seqs (the chain head lock), and PostgreSQL delivers
//! notifications in commit order, so the feed only has to remember the next seq it expects. A
//! range it did not stage itself, or a gap left by a lost connection, is read from the database.

use sqlx::postgres::PgListener;
use std::sync::Arc;
use std::time::Duration;

use super::LiveHub;
use crate::storage::{EventStore, StorageError, EVENTS_CHANNEL};

/// Rows read per query when catching up, so a long outage is read in bounded pieces.
const CATCH_UP_PAGE: i64 = 1_000;

/// Runs for the life of the process: listen, catch up, follow; on any error start over.
pub async fn follow_commits(hub: LiveHub) {
    let store = hub.store().clone();
    // The next seq to publish; unknown until the first successful read of the head.
    let mut next: Option<i64> = None;
    loop {
        if let Err(err) = follow_once(&hub, &store, &mut next).await {
            tracing::debug!(%err, "live feed lost the database; reconnecting");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn follow_once(
    hub: &LiveHub,
    store: &EventStore,
    next: &mut Option<i64>,
) -> Result<(), StorageError> {
    let mut listener = PgListener::connect_with(store.pool()).await?;
    listener.listen(EVENTS_CHANNEL).await?;
    // Listening first, then reading the head: whatever commits in between arrives as a NOTIFY
    // for a range already published, which is skipped.
    let head = store.chain_head().await?;
    match *next {
        // First start: the stream begins now; history is the read API's (or `after=`'s) job.
        None => {
            hub.start_at(head.seq);
            *next = Some(head.seq + 1);
        }
        // Back after a lost connection: publish what was committed meanwhile.
        Some(_) => publish_through(hub, store, next, (head.seq, None)).await?,
    }
    loop {
        let Some(notification) = listener.try_recv().await? else {
            return Ok(()); // connection lost; the caller reconnects and catches up
        };
        let Some((first, last, token)) = parse_range(notification.payload()) else {
            tracing::warn!(payload = notification.payload(), "malformed events NOTIFY");
            continue;
        };
        if next.is_some_and(|n| first > n) {
            tracing::debug!(first, "live feed saw a gap; reading it from the database");
        }
        publish_through(hub, store, next, (last, token)).await?;
    }
}

/// Publishes every seq from `next` through `last` in order, from the staging area where this
/// process wrote the append (`token` names it), from the database otherwise.
async fn publish_through(
    hub: &LiveHub,
    store: &EventStore,
    next: &mut Option<i64>,
    (last, token): (i64, Option<u64>),
) -> Result<(), StorageError> {
    let Some(mut from) = *next else {
        return Ok(());
    };
    while from <= last {
        let events = match hub.take_staged(from, token) {
            Some(staged) => staged,
            // Nobody follows the stream here: no need to read what nobody would be sent.
            None if hub.skip_unwatched(last) => {
                *next = Some(last + 1);
                return Ok(());
            }
            None => {
                let to = last.min(from + CATCH_UP_PAGE - 1);
                let page = store.seq_range(from, to).await?;
                if page.is_empty() {
                    // Seqs are gapless, so only retention can leave a hole: skip it.
                    from = to + 1;
                    *next = Some(from);
                    continue;
                }
                page.into_iter().map(Arc::new).collect()
            }
        };
        if let Some(last) = events.last() {
            from = last.seq + 1;
        }
        hub.publish(events);
        *next = Some(from);
    }
    Ok(())
}

/// `"<first> <last> <token>"` as the writer sends it, or `"<first> <last>"` (bulk appends).
fn parse_range(payload: &str) -> Option<(i64, i64, Option<u64>)> {
    let mut parts = payload.split(' ');
    let first: i64 = parts.next()?.parse().ok()?;
    let last: i64 = parts.next()?.parse().ok()?;
    let token = match parts.next() {
        Some(token) => Some(token.parse().ok()?),
        None => None,
    };
    (first <= last && parts.next().is_none()).then_some((first, last, token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_garbage_does_not() {
        assert_eq!(parse_range("5 9"), Some((5, 9, None)));
        assert_eq!(parse_range("7 7 42"), Some((7, 7, Some(42))));
        assert_eq!(parse_range("7 7 x"), None);
        assert_eq!(parse_range("7 7 42 1"), None);
        assert_eq!(parse_range("9 5"), None);
        assert_eq!(parse_range("x 5"), None);
        assert_eq!(parse_range(""), None);
    }
}
