//! Background chores of `vigil serve`: walking the hash chain, and keeping the monthly partitions
//! (created ahead, dropped after the retention period).

use chrono::{Duration as Days, Months, Utc};
use std::time::Duration;

use crate::storage::partitions::MONTHS_AHEAD;
use crate::storage::EventStore;

/// How often partitions are checked: far more often than months change.
const PARTITION_CHECK_EVERY: Duration = Duration::from_secs(3600);

/// Walks the whole chain now and then, so the dashboard can say when it last held. The first
/// walk waits a minute, keeping start-up (and short-lived test servers) quiet.
pub async fn verify_periodically(store: EventStore, every: Duration) {
    let mut ticks =
        tokio::time::interval_at(tokio::time::Instant::now() + Duration::from_secs(60), every);
    loop {
        ticks.tick().await;
        match store.verify_chain(None).await {
            Ok(v) if v.held() => tracing::info!(through_seq = v.through_seq, "chain verified"),
            Ok(v) => tracing::error!(first_bad_seq = ?v.first_bad_seq, "the event chain is broken"),
            Err(err) => tracing::warn!(%err, "could not verify the chain"),
        }
    }
}

/// How often the running failure windows move up: a top list then counts at most this much
/// plus a minute of raw rows at its start.
const ADVANCE_WINDOWS_EVERY: Duration = Duration::from_secs(10);

/// Keeps the running failure windows (24 h, 7 d, 30 d) ending now.
pub async fn advance_failure_windows(store: EventStore) {
    let mut ticks = tokio::time::interval(ADVANCE_WINDOWS_EVERY);
    loop {
        ticks.tick().await;
        if let Err(err) = store.advance_failure_windows().await {
            tracing::warn!(%err, "could not advance the failure windows");
        }
    }
}

/// At start and then hourly: create this month's and the next months' partitions, and drop
/// those wholly older than `retention_days`.
pub async fn keep_partitions(store: EventStore, retention_days: Option<u32>) {
    let mut ticks = tokio::time::interval(PARTITION_CHECK_EVERY);
    loop {
        ticks.tick().await;
        let now = Utc::now();
        if let Err(err) = store
            .ensure_partitions(now, now + Months::new(MONTHS_AHEAD))
            .await
        {
            tracing::error!(%err, "could not create event partitions");
        }
        if let Some(days) = retention_days {
            let cutoff = now - Days::days(days.into());
            if let Err(err) = store.drop_partitions_before(cutoff).await {
                tracing::error!(%err, "could not drop expired event partitions");
            }
        }
    }
}
