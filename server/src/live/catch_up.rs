//! Database reads for connections and filter groups that fell behind the stream.

use std::sync::Arc;
use tokio::sync::Semaphore;
use vigil_wire::{EventFilter, StoredEvent};

use crate::storage::{EventStore, StorageError};

/// Reads at once. A hundred browsers lagging together queue for these instead of taking every
/// pooled connection from ingest (and failing with "pool timed out").
pub const CATCH_UP_READS: usize = 4;

/// The serving database through a pool of the fan-out's own, one connection per turn. A
/// connection stays with the runtime that opened it, so the fan-out (on its own low-priority
/// runtime) must not open the connections request handlers use.
#[derive(Clone, Debug)]
pub struct CatchUp {
    store: EventStore,
    turns: Arc<Semaphore>,
}

impl CatchUp {
    pub fn new(serving: &EventStore) -> Self {
        CatchUp {
            store: serving.with_own_pool(CATCH_UP_READS as u32),
            turns: Arc::new(Semaphore::new(CATCH_UP_READS)),
        }
    }

    /// Up to `limit` stored matches of `filter` after `after`, oldest first, once it is this
    /// reader's turn.
    pub async fn matching_after(
        &self,
        filter: &EventFilter,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StorageError> {
        let _turn = self.turns.acquire().await.expect("never closed");
        self.store.matching_after(filter, after, limit).await
    }
}
