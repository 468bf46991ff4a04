//! `vigil demo-data`: fills the database with a realistic mix of authentication traffic (and a few
//! attacks) so the dashboard and the benchmarks have something to show, at `COPY` speed.

mod traffic;

pub use traffic::{ATTACKERS, USERS};

use anyhow::Context;
use chrono::{DateTime, Utc};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

use crate::config::DemoDataArgs;
use crate::events::NewEvent;
use crate::storage::EventStore;
use traffic::Traffic;

/// The `source` of every generated event, so demo rows can be told apart (or deleted).
pub const SOURCE: &str = "demo-data";
/// Rows per `COPY`: big enough to amortise the round trip, small enough to keep memory flat.
const CHUNK_ROWS: u64 = 50_000;

/// What to generate. The same seed and end give the same events (ids aside, which stay unique
/// so a second run adds rows rather than colliding).
#[derive(Clone, Debug)]
pub struct DemoOptions {
    pub events: u64,
    /// Events fall in the `days` days before `end`.
    pub days: u32,
    pub seed: u64,
    pub end: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct DemoSummary {
    pub inserted: u64,
    pub elapsed: Duration,
}

impl DemoSummary {
    pub fn rate(&self) -> f64 {
        self.inserted as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

pub async fn run(args: &DemoDataArgs, store: &EventStore) -> anyhow::Result<()> {
    let options = DemoOptions {
        events: args.events,
        days: args.days,
        seed: args.seed,
        end: Utc::now(),
    };
    let summary = generate(store, options).await?;
    eprintln!(
        "inserted {} events in {:.1} s ({:.0}/s)",
        summary.inserted,
        summary.elapsed.as_secs_f64(),
        summary.rate()
    );
    Ok(())
}

/// Generates and stores `options.events` events, then refreshes the planner's statistics.
///
/// Generation runs on a blocking thread and hands finished chunks over a one-slot channel, so
/// building the next chunk overlaps PostgreSQL's work on the current one, and at most three
/// chunks exist at any time whatever the total.
pub async fn generate(store: &EventStore, options: DemoOptions) -> anyhow::Result<DemoSummary> {
    anyhow::ensure!(options.days > 0, "--days must be at least 1");
    let started = Instant::now();
    let total = options.events;
    let first_day = options.end - chrono::Duration::days(options.days.into());
    store
        .ensure_partitions(first_day, options.end)
        .await
        .context("could not create partitions for the demo period")?;
    let (chunks, mut ready) = mpsc::channel::<Vec<(NewEvent, DateTime<Utc>)>>(1);
    let producer = tokio::task::spawn_blocking(move || {
        let mut traffic = Traffic::new(&options);
        let mut next = 0;
        while next < total {
            let size = CHUNK_ROWS.min(total - next);
            let rows = (next..next + size).map(|i| traffic.event(i)).collect();
            next += size;
            if chunks.blocking_send(rows).is_err() {
                break; // the writer gave up; its error is the one to report
            }
        }
    });
    let mut inserted = 0;
    while let Some(rows) = ready.recv().await {
        inserted += store
            .append_bulk(&rows)
            .await
            .context("could not COPY demo events into the database")?;
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "demo-data: {inserted}/{total} events ({:.0}%, {:.0}/s)",
            100.0 * inserted as f64 / total as f64,
            inserted as f64 / secs
        );
    }
    producer.await.context("the demo-data generator failed")?;
    // Counted now rather than by the next `vigil serve`, so the charts are fast at once.
    let counting = Instant::now();
    store
        .roll_up_all()
        .await
        .context("could not count the demo events into the aggregates")?;
    eprintln!(
        "demo-data: counted into the aggregates in {:.1} s",
        counting.elapsed().as_secs_f64()
    );
    store.analyze().await.context("could not analyze events")?;
    Ok(DemoSummary {
        inserted,
        elapsed: started.elapsed(),
    })
}
