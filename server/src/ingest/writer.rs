//! Group commit: one task writes every accepted event. Requests that arrive while a commit is
//! in flight are coalesced into the next multi-row insert, so many producers share each fsync.
//! The writer remembers where its last append left the chain, so the next one usually needs no
//! read before its single statement.

use sqlx::pool::PoolConnection;
use sqlx::{Connection, PgConnection, Postgres};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use vigil_wire::IngestReceipt;

use crate::cpus::{FanOutWork, WriterCpus};
use crate::events::NewEvent;
use crate::metrics::Metrics;
use crate::storage::{EventStore, Staging, StorageError};

/// Limits of the writer; the defaults suit a small machine.
#[derive(Clone, Debug)]
pub struct WriterConfig {
    /// Most rows in one insert (one transaction).
    pub max_rows_per_commit: usize,
    /// Most rows waiting for the writer; beyond it requests are refused with 503, not queued.
    pub max_queued_rows: usize,
    /// Where group sizes and commit times are recorded.
    pub metrics: Metrics,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            max_rows_per_commit: 2_000,
            max_queued_rows: 50_000,
            metrics: Metrics::default(),
        }
    }
}

#[derive(Clone, Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the ingest queue is full")]
    QueueFull,
    /// These events (indexes in the request) carry an `event_id` another producer used.
    #[error("event_id already used by another producer")]
    IdTaken(Vec<usize>),
    #[error("the writer has stopped")]
    Stopped,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

struct WriteJob {
    events: Vec<NewEvent>,
    reply: oneshot::Sender<Reply>,
    /// Holds this job's share of the queue until it is answered.
    _permit: OwnedSemaphorePermit,
}

/// A request's receipts, and its events handed back: the request's task frees them, not the
/// writer, whose every moment between commits is a moment PostgreSQL waits (freeing a group's
/// events was a visible part of the writer's time in `perf`).
type Reply = (Result<Vec<IngestReceipt>, WriteError>, Vec<NewEvent>);

/// The handle requests use to reach the writer task. Cheap to clone.
#[derive(Clone, Debug)]
pub struct EventWriter {
    jobs: mpsc::UnboundedSender<WriteJob>,
    queue_room: Arc<Semaphore>,
    max_queued_rows: usize,
}

impl EventWriter {
    /// Starts the writer task. Events about to be committed are shown to `staging` (the live
    /// hub, for its feed to publish); `fan_out` tells the writer when to keep off the CPUs the
    /// live fan-out runs on.
    pub fn spawn(
        store: EventStore,
        staging: Arc<dyn Staging>,
        fan_out: FanOutWork,
        config: WriterConfig,
    ) -> Self {
        let (jobs, receiver) = mpsc::unbounded_channel();
        let max_queued_rows = config.max_queued_rows;
        // Its own thread, runtime and connection: when PostgreSQL answers, the writer runs at
        // once instead of queueing behind the request tasks it is about to answer (measured:
        // the single-event ingest rate depends on how quickly the next group is sent), and on
        // the CPUs the live fan-out leaves while it is busy, for the same reason (`WriterCpus`).
        std::thread::Builder::new()
            .name("vigil-writer".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("the writer's runtime starts");
                runtime.block_on(async move {
                    // Opened here, so its connection belongs to this runtime.
                    let own = store.with_own_pool(1);
                    run_writer(own.pool(), &*staging, &fan_out, receiver, config).await;
                    own.pool().close().await;
                })
            })
            .expect("the writer's thread starts");
        EventWriter {
            jobs,
            queue_room: Arc::new(Semaphore::new(max_queued_rows)),
            max_queued_rows,
        }
    }

    /// Events accepted and not yet answered: queued for the writer or in its commit.
    pub fn queued_rows(&self) -> usize {
        (self.max_queued_rows).saturating_sub(self.queue_room.available_permits())
    }

    /// Whether the writer task is still there to take events.
    pub fn is_running(&self) -> bool {
        !self.jobs.is_closed()
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
        let (receipts, _events) = answer.await.map_err(|_| WriteError::Stopped)?;
        receipts
    }
}

async fn run_writer(
    pool: &sqlx::PgPool,
    staging: &dyn Staging,
    fan_out: &FanOutWork,
    mut receiver: mpsc::UnboundedReceiver<WriteJob>,
    config: WriterConfig,
) {
    // Where this writer's last append left the chain; `None` after an error, so it is read again.
    let mut head = None;
    let mut connection = HeldConnection::default();
    let mut cpus = WriterCpus::default();
    while let Some(first) = receiver.recv().await {
        cpus.follow(fan_out);
        // One group at a time: appends serialise on the chain head anyway (across instances
        // too), and while this one commits the next group gathers in the channel. (Sending the
        // next group before this one commits, on a second connection, was measured: slower,
        // since it waits on the head lock and the groups get smaller.)
        let mut group = gather(first, &mut receiver, config.max_rows_per_commit);
        // Requests holding another producer's event_id are refused and the rest appended again.
        while !group.is_empty() {
            let events: Vec<&NewEvent> = group.iter().flat_map(|job| &job.events).collect();
            let started = Instant::now();
            let appended = match connection.get(pool).await {
                Ok(conn) => EventStore::append(conn, &events, &mut head, staging).await,
                Err(err) => Err(err),
            };
            let metrics = &config.metrics;
            match appended {
                Ok(appended) if !appended.conflicts.is_empty() => {
                    group = refuse_conflicts(group, &appended.conflicts);
                    continue;
                }
                Ok(appended) => {
                    metrics.writer_group_events.observe(events.len() as f64);
                    (metrics.writer_commit_duration).observe(started.elapsed().as_secs_f64());
                    let duplicates = appended.receipts.iter().filter(|r| r.duplicate).count();
                    metrics.events_duplicate.inc_by(duplicates as u64);
                    (metrics.events_accepted).inc_by((appended.receipts.len() - duplicates) as u64);
                    answer_group(group, appended.receipts)
                }
                Err(err) => {
                    metrics.writer_commit_failures.inc();
                    connection.drop_it();
                    refuse_group(group, err)
                }
            }
            break;
        }
    }
}

/// Answers the jobs holding a conflicting event (`conflicts` index the group's events in job
/// order) with the indexes in their own request; returns the others.
fn refuse_conflicts(group: Vec<WriteJob>, conflicts: &[usize]) -> Vec<WriteJob> {
    let mut offset = 0;
    let mut kept = Vec::with_capacity(group.len());
    for job in group {
        let range = offset..offset + job.events.len();
        offset = range.end;
        let mine: Vec<usize> = (conflicts.iter())
            .filter(|i| range.contains(i))
            .map(|i| i - range.start)
            .collect();
        if mine.is_empty() {
            kept.push(job);
        } else {
            let _ = job.reply.send((Err(WriteError::IdTaken(mine)), job.events));
        }
    }
    kept
}

/// The writer's connection, held between appends. Taking one from the pool for each append
/// would cost two extra round trips per commit (sqlx pings a connection when it is taken and
/// when it is given back); instead it is checked only after a quiet spell, so a connection that
/// died while idle (a database restart) is replaced before an append fails on it.
#[derive(Default)]
struct HeldConnection {
    held: Option<(PoolConnection<Postgres>, Instant)>,
}

/// Idle longer than this, the held connection is pinged before use.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(1);

impl HeldConnection {
    async fn get(&mut self, pool: &sqlx::PgPool) -> Result<&mut PgConnection, StorageError> {
        if let Some((conn, last_used)) = &mut self.held {
            if last_used.elapsed() > CHECK_AFTER_IDLE && conn.ping().await.is_err() {
                self.held = None;
            }
        }
        let conn = match self.held.take() {
            Some((conn, _)) => conn,
            None => pool.acquire().await?,
        };
        let (conn, _) = self.held.insert((conn, Instant::now()));
        Ok(conn)
    }

    /// After an error: the next append starts on a fresh connection.
    fn drop_it(&mut self) {
        self.held = None;
    }
}

/// `first` and whatever else is waiting, up to `max_rows`: what piled up during the previous
/// commit goes into the next one.
fn gather(
    first: WriteJob,
    receiver: &mut mpsc::UnboundedReceiver<WriteJob>,
    max_rows: usize,
) -> Vec<WriteJob> {
    let mut rows = first.events.len();
    let mut group = vec![first];
    while rows < max_rows {
        match receiver.try_recv() {
            Ok(job) => {
                rows += job.events.len();
                group.push(job);
            }
            Err(_) => break,
        }
    }
    group
}

/// Answers every request of a group that could not be stored.
fn refuse_group(group: Vec<WriteJob>, err: StorageError) {
    let rows: usize = group.iter().map(|job| job.events.len()).sum();
    tracing::warn!(%err, rows, "group commit failed");
    for job in group {
        let _ = job
            .reply
            .send((Err(WriteError::Storage(err.clone())), job.events));
    }
}

/// Hands each request its share of the group's receipts (they are in input order).
fn answer_group(group: Vec<WriteJob>, receipts: Vec<IngestReceipt>) {
    let mut receipts = receipts.into_iter();
    for job in group {
        let mine = receipts.by_ref().take(job.events.len()).collect();
        let _ = job.reply.send((Ok(mine), job.events));
    }
}
