//! Group commit: one task writes every accepted event. Requests that arrive while a commit is
//! in flight are coalesced into the next multi-row insert, so many producers share each fsync.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;
use vigil_wire::IngestReceipt;

use super::{EventStore, NewEvent, StorageError};
use crate::live::LiveHub;

/// Limits of the writer; the defaults suit a small machine.
#[derive(Clone, Copy, Debug)]
pub struct WriterConfig {
    /// Most rows in one insert (one transaction).
    pub max_rows_per_commit: usize,
    /// Most rows waiting for the writer; beyond it requests are refused with 503, not queued.
    pub max_queued_rows: usize,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            max_rows_per_commit: 2_000,
            max_queued_rows: 50_000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the ingest queue is full")]
    QueueFull,
    #[error("the writer has stopped")]
    Stopped,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

struct WriteJob {
    events: Vec<NewEvent>,
    reply: oneshot::Sender<Result<Vec<IngestReceipt>, StorageError>>,
    /// Holds this job's share of the queue until it is answered.
    _permit: OwnedSemaphorePermit,
}

/// The handle requests use to reach the writer task. Cheap to clone.
#[derive(Clone, Debug)]
pub struct EventWriter {
    jobs: mpsc::UnboundedSender<WriteJob>,
    queue_room: Arc<Semaphore>,
}

impl EventWriter {
    /// Starts the writer task; committed events go to `hub` in `seq` order.
    pub fn spawn(store: EventStore, hub: LiveHub, config: WriterConfig) -> Self {
        let (jobs, receiver) = mpsc::unbounded_channel();
        tokio::spawn(run_writer(store, hub, receiver, config));
        EventWriter {
            jobs,
            queue_room: Arc::new(Semaphore::new(config.max_queued_rows)),
        }
    }

    /// Stores `events` atomically and answers once they are committed. Events whose id is already
    /// stored are not stored again: their receipt says `duplicate` and carries the original seq.
    pub async fn write(&self, events: Vec<NewEvent>) -> Result<Vec<IngestReceipt>, WriteError> {
        let rows = u32::try_from(events.len()).map_err(|_| WriteError::QueueFull)?;
        // The queue is bounded by rows, not requests: memory stays flat whatever the batch sizes.
        let permit = self
            .queue_room
            .clone()
            .try_acquire_many_owned(rows)
            .map_err(|_| WriteError::QueueFull)?;
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(WriteJob {
                events,
                reply,
                _permit: permit,
            })
            .map_err(|_| WriteError::Stopped)?;
        Ok(answer.await.map_err(|_| WriteError::Stopped)??)
    }
}

async fn run_writer(
    store: EventStore,
    hub: LiveHub,
    mut receiver: mpsc::UnboundedReceiver<WriteJob>,
    config: WriterConfig,
) {
    while let Some(first) = receiver.recv().await {
        let mut rows = first.events.len();
        let mut group = vec![first];
        // Take whatever piled up during the previous commit, up to the row limit.
        while rows < config.max_rows_per_commit {
            match receiver.try_recv() {
                Ok(job) => {
                    rows += job.events.len();
                    group.push(job);
                }
                Err(_) => break,
            }
        }
        commit_group(&store, &hub, group).await;
    }
}

async fn commit_group(store: &EventStore, hub: &LiveHub, group: Vec<WriteJob>) {
    let events: Vec<&NewEvent> = group.iter().flat_map(|job| &job.events).collect();
    let outcome = insert_and_resolve(store, &events).await;
    match outcome {
        Ok((inserted, seq_by_id)) => {
            let inserted_ids: HashMap<Uuid, i64> = inserted.iter().map(|e| (e.id, e.seq)).collect();
            // Shared by the whole group: two requests racing with the same new id get one stored
            // receipt between them.
            let mut claimed = HashSet::new();
            for job in group {
                let receipts = job
                    .events
                    .iter()
                    .map(|event| receipt_for(event.id, &inserted_ids, &seq_by_id, &mut claimed))
                    .collect();
                let _ = job.reply.send(Ok(receipts));
            }
            // After the commit and after answering: the stream never shows an uncommitted event.
            for event in inserted {
                hub.publish(event);
            }
        }
        Err(err) => {
            tracing::warn!(%err, rows = events.len(), "group commit failed");
            for job in group {
                let _ = job.reply.send(Err(err.clone()));
            }
        }
    }
}

type Resolved = (Vec<vigil_wire::StoredEvent>, HashMap<Uuid, i64>);

/// Inserts, then looks up the seq of every id that was already there.
async fn insert_and_resolve(
    store: &EventStore,
    events: &[&NewEvent],
) -> Result<Resolved, StorageError> {
    let inserted = store.insert_many(events).await?;
    let mut seq_by_id: HashMap<Uuid, i64> = inserted.iter().map(|e| (e.id, e.seq)).collect();
    let missing: Vec<Uuid> = events
        .iter()
        .map(|e| e.id)
        .filter(|id| !seq_by_id.contains_key(id))
        .collect();
    if !missing.is_empty() {
        seq_by_id.extend(store.seqs_of(&missing).await?);
    }
    Ok((inserted, seq_by_id))
}

/// The first occurrence of a newly inserted id in a request is the stored one; any later
/// occurrence, or an id stored earlier, is a duplicate.
fn receipt_for(
    id: Uuid,
    inserted: &HashMap<Uuid, i64>,
    seq_by_id: &HashMap<Uuid, i64>,
    claimed: &mut HashSet<Uuid>,
) -> IngestReceipt {
    let seq = seq_by_id.get(&id).copied().unwrap_or_default();
    let first_claim = inserted.contains_key(&id) && claimed.insert(id);
    IngestReceipt {
        id,
        seq,
        duplicate: !first_claim,
    }
}
