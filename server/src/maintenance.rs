//! Background chores of `vigil serve`: walking the hash chain, and keeping the monthly partitions
//! (created ahead, dropped after the retention period).

use chrono::{Duration as Days, Months, Utc};
use std::time::Duration;

use crate::metrics::Metrics;
use crate::storage::partitions::{Partition, MONTHS_AHEAD};
use crate::storage::{EventStore, StorageError};

/// How often partitions are checked: far more often than months change.
const PARTITION_CHECK_EVERY: Duration = Duration::from_secs(3600);

/// Walks the whole chain now and then, so the dashboard can say when it last held. The first
/// walk waits a minute, keeping start-up (and short-lived test servers) quiet.
pub async fn verify_periodically(store: EventStore, every: Duration, metrics: Metrics) {
    let mut ticks =
        tokio::time::interval_at(tokio::time::Instant::now() + Duration::from_secs(60), every);
    loop {
        ticks.tick().await;
        match store.verify_chain(None).await {
            Ok(v) if v.held() => {
                metrics.chain_verified(true, v.through_seq);
                tracing::info!(through_seq = v.through_seq, "chain verified")
            }
            Ok(v) => {
                metrics.chain_verified(false, v.through_seq);
                tracing::error!(first_bad_seq = ?v.first_bad_seq, "the event chain is broken")
            }
            Err(err) => tracing::warn!(%err, "could not verify the chain"),
        }
    }
}

/// How often the events ingested since are counted into the aggregates: a chart reads at
/// most about this much of the newest events from the table itself.
const ROLL_UP_EVERY: Duration = Duration::from_secs(1);
/// Every this many roll-ups, the running failure windows move up to the minute: a top list
/// then reads at most this long plus a minute of raw rows at its start.
const ADVANCE_WINDOWS_EVERY: u32 = 10;

/// Counts new events into the aggregates every second, and keeps the failure windows
/// (24 h, 7 d, 30 d) ending now. Several instances may run this: the roll-up cursor's lock
/// takes them in turn.
pub async fn keep_aggregates(store: EventStore) {
    // The first tick waits one period, keeping start-up (and short-lived test servers) quiet.
    let mut ticks =
        tokio::time::interval_at(tokio::time::Instant::now() + ROLL_UP_EVERY, ROLL_UP_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for tick in 0u32.. {
        ticks.tick().await;
        match store.roll_up_all().await {
            Ok(_) => {}
            // The server is stopping.
            Err(StorageError::Unavailable(err)) if matches!(*err, sqlx::Error::PoolClosed) => {
                return
            }
            Err(err) => tracing::warn!(%err, "could not count new events into the aggregates"),
        }
        if tick % ADVANCE_WINDOWS_EVERY == 0 {
            if let Err(err) = store.advance_failure_windows().await {
                tracing::warn!(%err, "could not advance the failure windows");
            }
        }
    }
}

/// At start and then hourly: create this month's and the next months' partitions, and drop
/// those wholly older than `retention_days`.
pub async fn keep_partitions(store: EventStore, retention_days: Option<u32>) {
    let mut ticks = tokio::time::interval(PARTITION_CHECK_EVERY);
    loop {
        ticks.tick().await;
        if let Err(err) = upkeep_partitions(&store, retention_days).await {
            tracing::error!(%err, "could not create or drop event partitions");
        }
    }
}

/// One round of partition upkeep, `vigil serve`'s hourly and `vigil migrate`'s: the months
/// created, then the months dropped.
pub async fn upkeep_partitions(
    store: &EventStore,
    retention_days: Option<u32>,
) -> Result<(Vec<Partition>, Vec<Partition>), StorageError> {
    let now = Utc::now();
    let created = store
        .ensure_partitions(now, now + Months::new(MONTHS_AHEAD))
        .await?;
    let dropped = match retention_days {
        Some(days) => {
            let cutoff = now - Days::days(days.into());
            store.drop_partitions_before(cutoff).await?
        }
        None => Vec::new(),
    };
    Ok((created, dropped))
}
