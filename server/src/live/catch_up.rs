//! Database reads for connections and filter groups that fell behind the stream.

use axum::extract::ws::Utf8Bytes;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::{OnceCell, Semaphore};
use vigil_wire::{EventFilter, StoredEvent};

use super::frames;
use crate::storage::{EventStore, StorageError};

/// Reads at once. A hundred browsers lagging together queue for these instead of taking every
/// pooled connection from ingest (and failing with "pool timed out").
pub const CATCH_UP_READS: usize = 4;
/// Seqs per shared replay window.
pub const WINDOW: i64 = 512;
/// Windows kept for connections that come asking later: at most this many × `WINDOW` events'
/// frames (about 13 MB of 800-byte frames).
const WINDOWS_KEPT: usize = 32;

/// Matching events as frames, in seq order: (seq, frame).
pub type Frames = Arc<[(i64, Utf8Bytes)]>;

/// The serving database through a pool of the fan-out's own, one connection per turn. A
/// connection stays with the runtime that opened it, so the fan-out (on its own low-priority
/// runtime) must not open the connections request handlers use.
#[derive(Clone, Debug)]
pub struct CatchUp {
    store: EventStore,
    turns: Arc<Semaphore>,
    windows: Arc<Mutex<Windows>>,
}

/// Recently read windows, by (filter, first seq), oldest first in `order`.
#[derive(Debug, Default)]
struct Windows {
    cells: HashMap<(String, i64), Arc<OnceCell<Frames>>>,
    order: VecDeque<(String, i64)>,
}

impl CatchUp {
    pub fn new(serving: &EventStore) -> Self {
        CatchUp {
            store: serving.with_own_pool(CATCH_UP_READS as u32),
            turns: Arc::new(Semaphore::new(CATCH_UP_READS)),
            windows: Arc::default(),
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

    /// The frames of `filter`'s matches with a seq in (`start`, `start + WINDOW`]; `key` names
    /// the filter. Connections on one filter fall behind together (they share a CPU and a
    /// burst), and each used to read and serialise the whole range on its own: a hundred of
    /// them, a hundred reads of every event. Now the first to ask reads a window, those asking
    /// meanwhile wait for it, and later ones find it kept. Only ask for a window every event
    /// of which is committed: a kept window is never read again.
    pub async fn window(
        &self,
        key: &str,
        filter: &EventFilter,
        start: i64,
    ) -> Result<Frames, StorageError> {
        let cell = self.window_cell(key, start);
        let frames = cell
            .get_or_try_init(|| async {
                let _turn = self.turns.acquire().await.expect("never closed");
                let events = (self.store)
                    .matching_through(filter, start, start + WINDOW)
                    .await?;
                Ok::<Frames, StorageError>(frames(events).into())
            })
            .await?;
        Ok(frames.clone())
    }

    fn window_cell(&self, key: &str, start: i64) -> Arc<OnceCell<Frames>> {
        let mut windows = self.windows.lock().expect("windows lock");
        let id = (key.to_owned(), start);
        if let Some(cell) = windows.cells.get(&id) {
            return cell.clone();
        }
        if windows.order.len() == WINDOWS_KEPT {
            let oldest = windows.order.pop_front().expect("full");
            windows.cells.remove(&oldest);
        }
        let cell = Arc::new(OnceCell::new());
        windows.cells.insert(id.clone(), cell.clone());
        windows.order.push_back(id);
        cell
    }
}
