//! Group commit: one task writes every accepted event. Requests that arrive while a commit is
//! in flight are coalesced into the next multi-row insert, so many producers share each fsync.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;
use vigil_wire::{IngestReceipt, StoredEvent};

use super::{EventStore, NewEvent, StorageError};
use crate::live::LiveHub;

/// Limits of the writer; the defaults suit a small machine.
#[derive(Clone, Copy, Debug)]
pub struct WriterConfig {
    /// Most rows in one insert (one transaction).
    pub max_rows_per_commit: usize,
    /// Most rows waiting for the writer; beyond it requests are refused with 503, not queued.
    pub max_queued_rows: usize,
    /// Groups whose commit may be in flight at once: while one waits for its WAL flush, the
    /// next group is already inserted.
    pub commits_in_flight: usize,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            max_rows_per_commit: 2_000,
            max_queued_rows: 50_000,
            commits_in_flight: 3,
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
    let commits_in_flight = Arc::new(Semaphore::new(config.commits_in_flight));
    // Each group publishes only after the group before it: the stream stays in seq order even
    // when a later commit finishes first.
    let mut previous_published: Option<oneshot::Receiver<()>> = None;
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
        let Ok(permit) = commits_in_flight.clone().acquire_owned().await else {
            break;
        };
        // Inserts run one at a time, here, so each group's seqs follow the previous group's;
        // only the commits (the WAL flushes) overlap.
        let inserted = insert_group(&store, &group).await;
        let (published, next_turn) = oneshot::channel();
        let turn = previous_published.replace(next_turn);
        let (store, hub) = (store.clone(), hub.clone());
        tokio::spawn(async move {
            let outcome = match inserted {
                Ok((tx, rows)) => tx.commit().await.map(|()| rows).map_err(StorageError::from),
                Err(err) => Err(err),
            };
            let outcome = match outcome {
                Ok(rows) => answer_group(&store, group, &rows).await.map(|()| rows),
                Err(err) => {
                    for job in group {
                        let _ = job.reply.send(Err(err.clone()));
                    }
                    Err(err)
                }
            };
            drop(permit);
            if let Some(turn) = turn {
                // An error on the other side means that group ended without publishing.
                let _ = turn.await;
            }
            match outcome {
                // After the commit and after answering: the stream never shows an uncommitted event.
                Ok(rows) => rows.into_iter().for_each(|event| hub.publish(event)),
                Err(err) => tracing::warn!(%err, rows, "group commit failed"),
            }
            let _ = published.send(());
        });
    }
}

type OpenGroup = (sqlx::Transaction<'static, sqlx::Postgres>, Vec<StoredEvent>);

/// Runs the group's insert in a transaction left open for the commit task.
async fn insert_group(store: &EventStore, group: &[WriteJob]) -> Result<OpenGroup, StorageError> {
    let events: Vec<&NewEvent> = group.iter().flat_map(|job| &job.events).collect();
    let mut tx = store.pool().begin().await?;
    let inserted = EventStore::insert_many(&mut tx, &events).await?;
    Ok((tx, inserted))
}

/// Answers every request of a committed group (or its error), working out duplicates: ids that
/// were already stored get the seq of the stored event.
async fn answer_group(
    store: &EventStore,
    group: Vec<WriteJob>,
    inserted: &[StoredEvent],
) -> Result<(), StorageError> {
    let inserted_ids: HashMap<Uuid, i64> = inserted.iter().map(|e| (e.id, e.seq)).collect();
    let mut seq_by_id = inserted_ids.clone();
    let missing: Vec<Uuid> = group
        .iter()
        .flat_map(|job| job.events.iter().map(|e| e.id))
        .filter(|id| !seq_by_id.contains_key(id))
        .collect();
    if !missing.is_empty() {
        match store.seqs_of(&missing).await {
            Ok(found) => seq_by_id.extend(found),
            Err(err) => {
                for job in group {
                    let _ = job.reply.send(Err(err.clone()));
                }
                return Err(err);
            }
        }
    }
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
    Ok(())
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
