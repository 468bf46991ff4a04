//! Alerts on the live stream: every instance follows the NOTIFY each alert change sends at
//! COMMIT and broadcasts the changed alerts, in change order, to the streams that asked for
//! them (`alerts=true`); `alerts_after=<change_seq>` replays what a stream missed first.

use axum::extract::ws::Utf8Bytes;
use sqlx::postgres::PgListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError};
use vigil_wire::{Alert, LiveMessage};

use super::follower::{Ended, DATABASE_UNAVAILABLE};
use crate::storage::alerts::ALERTS_CHANNEL;
use crate::storage::{EventStore, StorageError};

/// Alert changes a stream may fall behind before it reads them from the database instead.
const CAPACITY: usize = 256;
/// Alert changes per database read when replaying.
const PAGE: i64 = 200;

/// One per process, beside the events' hub.
#[derive(Clone, Debug)]
pub struct AlertHub {
    sender: broadcast::Sender<Arc<Alert>>,
    /// The newest change seq published; subscribing reads it under the same lock.
    latest: Arc<Mutex<i64>>,
    store: EventStore,
}

impl AlertHub {
    pub fn new(store: EventStore) -> Self {
        let (sender, _) = broadcast::channel(CAPACITY);
        AlertHub {
            sender,
            latest: Arc::default(),
            store,
        }
    }

    fn subscribe(&self) -> (broadcast::Receiver<Arc<Alert>>, i64) {
        let latest = self.latest.lock().expect("alert hub lock");
        (self.sender.subscribe(), *latest)
    }

    fn publish(&self, alerts: Vec<Alert>) {
        let mut latest = self.latest.lock().expect("alert hub lock");
        for alert in alerts {
            if alert.change_seq > *latest {
                *latest = alert.change_seq;
                let _ = self.sender.send(Arc::new(alert));
            }
        }
    }

    /// A stream's view of the alerts: changes after `after`, or from now on.
    pub fn tap(&self, after: Option<i64>) -> AlertTap {
        let (receiver, latest) = self.subscribe();
        AlertTap {
            receiver,
            delivered: after.unwrap_or(latest),
            behind: after.is_some_and(|a| a < latest),
            store: self.store.clone(),
        }
    }
}

/// Runs for the life of the process: listen, catch up, follow; on any error start over.
pub async fn follow_alerts(hub: AlertHub) {
    let mut started = false;
    loop {
        if let Err(err) = follow_once(&hub, &mut started).await {
            tracing::debug!(%err, "alert feed lost the database; reconnecting");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn follow_once(hub: &AlertHub, started: &mut bool) -> Result<(), StorageError> {
    let mut listener = PgListener::connect_with(hub.store.pool()).await?;
    listener.listen(ALERTS_CHANNEL).await?;
    if !*started {
        // The stream of changes begins now; `alerts_after=` replays older ones.
        let now = hub.store.alert_summary().await?.change_seq;
        let mut latest = hub.latest.lock().expect("alert hub lock");
        *latest = (*latest).max(now);
        *started = true;
    }
    loop {
        publish_new(hub).await?;
        if listener.try_recv().await?.is_none() {
            return Ok(()); // connection lost; the caller reconnects and catches up
        }
    }
}

async fn publish_new(hub: &AlertHub) -> Result<(), StorageError> {
    loop {
        let after = *hub.latest.lock().expect("alert hub lock");
        let page = hub.store.alerts_changed_after(after, PAGE).await?;
        let full = page.len() as i64 == PAGE;
        hub.publish(page);
        if !full {
            return Ok(());
        }
    }
}

/// What one stream follows of the alerts.
pub struct AlertTap {
    receiver: broadcast::Receiver<Arc<Alert>>,
    /// The change seq through which this stream has every alert change.
    delivered: i64,
    behind: bool,
    store: EventStore,
}

impl AlertTap {
    /// The next frames: what the stream missed (from the database) or the next live change.
    pub async fn next(&mut self) -> Result<Vec<Utf8Bytes>, Ended> {
        loop {
            if self.behind {
                let page = (self.store.alerts_changed_after(self.delivered, PAGE).await)
                    .map_err(|_| DATABASE_UNAVAILABLE)?;
                self.behind = page.len() as i64 == PAGE;
                let frames = self.frames(page.into_iter().map(Arc::new));
                if !frames.is_empty() {
                    return Ok(frames);
                }
                continue;
            }
            match self.receiver.recv().await {
                Ok(alert) => {
                    let mut alerts = vec![alert];
                    while let Ok(more) = self.receiver.try_recv() {
                        alerts.push(more);
                    }
                    let frames = self.frames(alerts.into_iter());
                    if !frames.is_empty() {
                        return Ok(frames);
                    }
                }
                Err(RecvError::Lagged(_)) => self.behind = true,
                Err(RecvError::Closed) => return std::future::pending().await,
            }
        }
    }

    /// The change seq through which this stream has everything.
    pub fn delivered(&self) -> i64 {
        self.delivered
    }

    fn frames(&mut self, alerts: impl Iterator<Item = Arc<Alert>>) -> Vec<Utf8Bytes> {
        let mut frames = Vec::new();
        for alert in alerts {
            if alert.change_seq <= self.delivered {
                continue;
            }
            self.delivered = alert.change_seq;
            let message = LiveMessage::Alert {
                alert: Box::new((*alert).clone()),
            };
            let json = serde_json::to_string(&message).expect("alerts always serialise");
            frames.push(Utf8Bytes::from(json));
        }
        frames
    }
}
