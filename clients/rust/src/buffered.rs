//! The buffered client: events are queued in memory and sent in batches by a background task,
//! so a request handler never waits for Vigil.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::call::{BoxFuture, Call, Deliver};
use super::worker::{Message, Worker};
use super::{AuditClient, ClientError, MAX_BATCH};
use crate::EventInput;

/// Called with every batch that could not be delivered, as it fails.
pub type FailureHook = Arc<dyn Fn(&FailedBatch) + Send + Sync>;

/// How much a [`BufferedAuditClient`] holds and how often it sends.
#[derive(Clone)]
#[must_use]
pub struct BufferConfig {
    /// Events queued at most; past it, awaiting a call waits for room and `try_enqueue`
    /// refuses. This, `max_batch` and `retain_failed` bound the client's memory.
    pub capacity: usize,
    /// Events per request, at most [`MAX_BATCH`]: a full batch is sent at once.
    pub max_batch: usize,
    /// A batch is sent at the latest this long after its first event was queued.
    pub flush_interval: Duration,
    /// Undeliverable events kept for the [`ShutdownReport`]; past it they are only counted
    /// (and still logged and passed to `on_failure`).
    pub retain_failed: usize,
    pub(super) on_failure: Option<FailureHook>,
}

impl Default for BufferConfig {
    fn default() -> Self {
        BufferConfig {
            capacity: 10_000,
            max_batch: 500,
            flush_interval: Duration::from_secs(1),
            retain_failed: 10_000,
            on_failure: None,
        }
    }
}

impl BufferConfig {
    pub fn capacity(mut self, events: usize) -> Self {
        self.capacity = events.max(1);
        self
    }

    pub fn max_batch(mut self, events: usize) -> Self {
        self.max_batch = events.clamp(1, MAX_BATCH);
        self
    }

    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = interval;
        self
    }

    pub fn retain_failed(mut self, events: usize) -> Self {
        self.retain_failed = events;
        self
    }

    /// Hands each undeliverable batch to `hook` (to spool it to disk, raise an alert…) as soon
    /// as its retries are exhausted or the server refuses it. Runs on the sending task: keep it
    /// quick.
    pub fn on_failure(mut self, hook: impl Fn(&FailedBatch) + Send + Sync + 'static) -> Self {
        self.on_failure = Some(Arc::new(hook));
        self
    }
}

/// Events Vigil did not store, and why.
#[derive(Debug)]
pub struct FailedBatch {
    pub events: Vec<EventInput>,
    /// For `Rejected` with details, each detail's `index` is a position in `events`.
    pub error: ClientError,
}

/// What a [`BufferedAuditClient`] did over its life, from [`BufferedAuditClient::shutdown`].
#[derive(Debug, Default)]
pub struct ShutdownReport {
    /// Events stored.
    pub delivered: u64,
    /// Events the server already had (an earlier attempt was stored; nothing lost).
    pub duplicates: u64,
    /// Events not stored.
    pub failed_events: u64,
    /// The failed events with their errors, up to `retain_failed` events.
    pub failed: Vec<FailedBatch>,
}

impl ShutdownReport {
    /// Whether every queued event reached Vigil.
    pub fn is_complete(&self) -> bool {
        self.failed_events == 0
    }
}

/// Why an event was not queued. `Full` and `Closed` give the event back.
#[derive(Debug, thiserror::Error)]
pub enum BufferError {
    #[error("the audit buffer is full")]
    Full(Box<EventInput>),
    #[error("the audit buffer was shut down")]
    Closed(Box<EventInput>),
    #[error(transparent)]
    Invalid(ClientError),
}

/// The buffered client is gone: shut down, or its task ended with the runtime.
#[derive(Debug, thiserror::Error)]
#[error("the audit buffer was shut down")]
pub struct ShutDown;

/// Queues events and sends them in batches (when `max_batch` are waiting, or `flush_interval`
/// after the first) from a background task, with [`AuditClient`]'s retries. Awaiting a `log_*`
/// call returns once the event is queued, waiting only when the queue is full;
/// [`Call::try_enqueue`] never waits. Failures are logged (`tracing`), passed to
/// [`BufferConfig::on_failure`], and listed by [`shutdown`](Self::shutdown), which sends
/// everything still queued: call it before the runtime stops.
///
/// ```no_run
/// use vigil_client::{AuditClient, BufferConfig, BufferedAuditClient, ClientError};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let client = AuditClient::new("http://127.0.0.1:3000", "vigil_…ingest key…")?;
/// let audit = BufferedAuditClient::new(client, BufferConfig::default().max_batch(200));
///
/// audit.log_login_failure("alice", "203.0.113.7", "Invalid credentials").await?;
/// audit.log_token_refresh(42, "alice", "203.0.113.7").try_enqueue()?;
///
/// let report = audit.shutdown().await?;
/// assert!(report.is_complete(), "not stored: {:?}", report.failed);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct BufferedAuditClient {
    queue: mpsc::Sender<Message>,
}

impl BufferedAuditClient {
    /// Starts the sending task. Must be called within a Tokio runtime.
    pub fn new(client: AuditClient, config: BufferConfig) -> Self {
        let (queue, receiver) = mpsc::channel(config.capacity.max(1));
        let worker = Worker::new(client, receiver, &config);
        tokio::spawn(worker.run());
        BufferedAuditClient { queue }
    }

    /// Queues a prepared event (giving it an `event_id` if it has none), waiting for room.
    pub async fn enqueue(&self, mut event: EventInput) -> Result<(), BufferError> {
        event.event_id.get_or_insert_with(Uuid::now_v7);
        self.queue
            .send(Message::Event(Box::new(event)))
            .await
            .map_err(|mpsc::error::SendError(message)| BufferError::Closed(message.into_event()))
    }

    /// Queues a prepared event if there is room now.
    pub fn try_enqueue(&self, mut event: EventInput) -> Result<(), BufferError> {
        use mpsc::error::TrySendError;
        event.event_id.get_or_insert_with(Uuid::now_v7);
        self.queue
            .try_send(Message::Event(Box::new(event)))
            .map_err(|error| match error {
                TrySendError::Full(message) => BufferError::Full(message.into_event()),
                TrySendError::Closed(message) => BufferError::Closed(message.into_event()),
            })
    }

    /// Sends everything queued so far and returns once it was delivered or reported failed.
    pub async fn flush(&self) -> Result<(), ShutDown> {
        let (done, answer) = oneshot::channel();
        self.queue
            .send(Message::Flush(done))
            .await
            .map_err(|_| ShutDown)?;
        answer.await.map_err(|_| ShutDown)
    }

    /// Stops taking events, sends everything queued (from every clone of this handle) and
    /// reports what was delivered and what failed. `Err(ShutDown)` if it was already shut down.
    pub async fn shutdown(&self) -> Result<ShutdownReport, ShutDown> {
        let (done, answer) = oneshot::channel();
        self.queue
            .send(Message::Shutdown(done))
            .await
            .map_err(|_| ShutDown)?;
        answer.await.map_err(|_| ShutDown)
    }
}

impl std::fmt::Debug for BufferedAuditClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BufferedAuditClient")
            .field("free", &self.queue.capacity())
            .field("closed", &self.queue.is_closed())
            .finish()
    }
}

impl Deliver for BufferedAuditClient {
    type Output = Result<(), BufferError>;

    fn deliver(&self, event: Result<EventInput, ClientError>) -> BoxFuture<'_, Self::Output> {
        Box::pin(async move { self.enqueue(event.map_err(BufferError::Invalid)?).await })
    }
}

impl Call<'_, BufferedAuditClient> {
    /// Queues the event if there is room now, instead of waiting for it.
    pub fn try_enqueue(self) -> Result<(), BufferError> {
        let (client, event) = self.into_parts();
        client.try_enqueue(event.map_err(BufferError::Invalid)?)
    }
}
