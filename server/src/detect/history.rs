//! `vigil detect --since`: the rules judged over stored events, oldest first, as the live
//! engine judged (or would have judged) them.

use chrono::{DateTime, Utc};
use std::sync::Arc;

use super::engine::{Engine, Limits};
use super::rule::Rule;
use super::runner::judge;
use crate::storage::alerts::{Judgement, NewAlert};
use crate::storage::{EventStore, StorageError};

/// Events read per page.
const PAGE: i64 = 5_000;

/// What a history run found.
#[derive(Debug, Default)]
pub struct HistoryRun {
    /// The alerts the rules raise over the events, in the order they trip.
    pub opened: Vec<NewAlert>,
    /// Events judged.
    pub events: u64,
}

/// Judges every event that happened since `since`, through the head as it is now. With
/// `skip_live`, keys whose alert is not closed in the database are not raised again.
pub async fn judge_history(
    store: &EventStore,
    rules: Vec<Rule>,
    since: DateTime<Utc>,
    skip_live: bool,
) -> Result<HistoryRun, StorageError> {
    let mut engine = Engine::new(rules, Limits::default());
    if skip_live {
        for (rule, key) in store.live_alert_keys().await? {
            engine.mark_open(&rule, &key);
        }
    }
    let head = store.chain_head().await?.seq;
    // Received at or after `since` covers every event that happened since then, except those
    // that claimed a time ahead of their receipt (at most the clock skew, held to it).
    let mut from = store
        .first_seq_received_since(since - super::runner::SKEW)
        .await?;
    let mut run = HistoryRun::default();
    while from <= head {
        let to = head.min(from + PAGE - 1);
        let events: Vec<Arc<_>> = (store.seq_range(from, to).await?)
            .into_iter()
            .filter(|e| e.occurred_at >= since)
            .map(Arc::new)
            .collect();
        run.events += events.len() as u64;
        let Judgement { opened, .. } = judge(&mut engine, &events, to);
        run.opened.extend(opened);
        from = to + 1;
    }
    Ok(run)
}
