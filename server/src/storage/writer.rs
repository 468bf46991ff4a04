//! Group commit: one task writes every accepted event. Requests that arrive while a commit is
//! in flight are coalesced into the next multi-row insert, so many producers share each fsync.

use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
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
    /// Starts the writer task; committed events are staged in `hub` for its feed to publish.
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
        // One group at a time: appends serialise on the chain head anyway (across instances
        // too), and while this commit waits for its WAL flush the next group gathers here.
        match write_group(&store, &hub, &group).await {
            Ok(receipts) => answer_group(group, receipts),
            Err(err) => {
                tracing::warn!(%err, rows, "group commit failed");
                for job in group {
                    let _ = job.reply.send(Err(err.clone()));
                }
            }
        }
    }
}

/// Appends the group in one transaction. The stored events are handed to the hub before COMMIT
/// so the NOTIFY that follows it finds them without reading them back; if COMMIT fails they are
/// taken back (and had it succeeded after all, the hub reads the range from the database).
async fn write_group(
    store: &EventStore,
    hub: &LiveHub,
    group: &[WriteJob],
) -> Result<Vec<IngestReceipt>, StorageError> {
    let events: Vec<&NewEvent> = group.iter().flat_map(|job| &job.events).collect();
    let mut tx = store.pool().begin().await?;
    let appended = EventStore::append(&mut tx, &events).await?;
    let first_seq = appended.events.first().map(|e| e.seq);
    if !appended.events.is_empty() {
        hub.stage(appended.events);
    }
    if let Err(err) = tx.commit().await {
        if let Some(first_seq) = first_seq {
            hub.unstage(first_seq);
        }
        return Err(err.into());
    }
    Ok(appended.receipts)
}

/// Hands each request its share of the group's receipts (they are in input order).
fn answer_group(group: Vec<WriteJob>, receipts: Vec<IngestReceipt>) {
    let mut receipts = receipts.into_iter();
    for job in group {
        let mine = receipts.by_ref().take(job.events.len()).collect();
        let _ = job.reply.send(Ok(mine));
    }
}
