//! The buffered client's background task: gathers queued events into batches, sends them, and
//! accounts for every event as delivered or failed.

use std::collections::BTreeSet;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::buffered::{BufferConfig, FailedBatch, FailureHook, ShutdownReport};
use super::{AuditClient, ClientError, FieldError};
use crate::EventInput;

/// What the handles send the task, in one queue so a flush or shutdown sees every event
/// queued before it.
pub(crate) enum Message {
    Event(Box<EventInput>),
    Flush(oneshot::Sender<()>),
    Shutdown(oneshot::Sender<ShutdownReport>),
}

impl Message {
    /// The event of a message that could not be queued; only events are ever sent back.
    pub fn into_event(self) -> Box<EventInput> {
        match self {
            Message::Event(event) => event,
            Message::Flush(_) | Message::Shutdown(_) => unreachable!("only events are returned"),
        }
    }
}

pub(crate) struct Worker {
    client: AuditClient,
    queue: mpsc::Receiver<Message>,
    max_batch: usize,
    flush_interval: Duration,
    retain_failed: usize,
    on_failure: Option<FailureHook>,
    batch: Vec<EventInput>,
    report: ShutdownReport,
    retained: usize,
}

impl Worker {
    pub fn new(client: AuditClient, queue: mpsc::Receiver<Message>, config: &BufferConfig) -> Self {
        Worker {
            client,
            queue,
            max_batch: config.max_batch.clamp(1, super::MAX_BATCH),
            flush_interval: config.flush_interval,
            retain_failed: config.retain_failed,
            on_failure: config.on_failure.clone(),
            batch: Vec::new(),
            report: ShutdownReport::default(),
            retained: 0,
        }
    }

    pub async fn run(mut self) {
        // When the current batch must go out: set by its first event.
        let mut deadline: Option<Instant> = None;
        loop {
            // The sleep is built even while disabled, hence a stand-in instant.
            let due = deadline.unwrap_or_else(Instant::now);
            let message = tokio::select! {
                message = self.queue.recv() => message,
                () = tokio::time::sleep_until(due), if deadline.is_some() => {
                    self.flush().await;
                    deadline = None;
                    continue;
                }
            };
            match message {
                Some(Message::Event(event)) => {
                    deadline.get_or_insert_with(|| Instant::now() + self.flush_interval);
                    self.batch.push(*event);
                    if self.batch.len() >= self.max_batch {
                        self.flush().await;
                        deadline = None;
                    }
                }
                Some(Message::Flush(done)) => {
                    self.flush().await;
                    deadline = None;
                    let _ = done.send(());
                }
                Some(Message::Shutdown(done)) => {
                    let _ = done.send(self.drain().await);
                    return;
                }
                // Every handle was dropped without a shutdown: still send what is left.
                None => {
                    self.drain().await;
                    return;
                }
            }
        }
    }

    /// Refuses new events, then sends everything already queued.
    async fn drain(&mut self) -> ShutdownReport {
        self.queue.close();
        while let Some(message) = self.queue.recv().await {
            match message {
                Message::Event(event) => {
                    self.batch.push(*event);
                    if self.batch.len() >= self.max_batch {
                        self.flush().await;
                    }
                }
                Message::Flush(done) => {
                    self.flush().await;
                    let _ = done.send(());
                }
                // A second shutdown gets `ShutDown`: the report goes to the first.
                Message::Shutdown(_) => {}
            }
        }
        self.flush().await;
        std::mem::take(&mut self.report)
    }

    async fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(self.max_batch));
        self.deliver(batch).await;
    }

    /// Sends a batch. Ingest is all or nothing, so a batch the server refuses because of some
    /// of its events is sent again without them, and one too large for the server is halved:
    /// one bad event never costs the others.
    async fn deliver(&mut self, batch: Vec<EventInput>) {
        let mut pending = vec![batch];
        while let Some(events) = pending.pop() {
            match self.client.post_events(&events).await {
                Ok(receipts) => {
                    let duplicates = receipts.iter().filter(|r| r.duplicate).count() as u64;
                    self.report.duplicates += duplicates;
                    self.report.delivered += receipts.len() as u64 - duplicates;
                }
                Err(ClientError::Rejected { status: 413, .. }) if events.len() > 1 => {
                    let mut first = events;
                    let second = first.split_off(first.len() / 2);
                    pending.push(second);
                    pending.push(first);
                }
                Err(ClientError::Rejected {
                    status,
                    code,
                    message,
                    details,
                }) if events.len() > 1 && details.iter().any(|d| d.index < events.len()) => {
                    let bad: BTreeSet<usize> = details.iter().map(|d| d.index).collect();
                    let (refused, valid): (Vec<_>, Vec<_>) = events
                        .into_iter()
                        .enumerate()
                        .partition(|(index, _)| bad.contains(index));
                    // Each detail's index, renumbered to a position among the refused events.
                    let details = details
                        .into_iter()
                        .filter_map(|d| {
                            let index = refused.iter().position(|(i, _)| *i == d.index)?;
                            Some(FieldError { index, ..d })
                        })
                        .collect();
                    let error = ClientError::Rejected {
                        status,
                        code,
                        message,
                        details,
                    };
                    self.fail(refused.into_iter().map(|(_, e)| e).collect(), error);
                    if !valid.is_empty() {
                        pending.push(valid.into_iter().map(|(_, e)| e).collect());
                    }
                }
                Err(error) => self.fail(events, error),
            }
        }
    }

    fn fail(&mut self, events: Vec<EventInput>, error: ClientError) {
        tracing::error!(events = events.len(), %error, "vigil: audit events were not stored");
        let failed = FailedBatch { events, error };
        if let Some(hook) = &self.on_failure {
            hook(&failed);
        }
        let count = failed.events.len();
        self.report.failed_events += count as u64;
        if self.retained + count <= self.retain_failed {
            self.retained += count;
            self.report.failed.push(failed);
        }
    }
}
