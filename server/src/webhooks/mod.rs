//! Webhooks: telling on-call about alerts. storage/alerts.rs queues a delivery for every webhook
//! that wants an alert change, in the change's own transaction; every instance runs a
//! `DeliveryWorker` that claims due deliveries, POSTs them signed, and retries with backoff until
//! the receiver answers 2xx or the retry period runs out. At least once: a receiver
//! de-duplicates on `Vigil-Delivery-Id` (or the alert's id and revision).

mod payload;
mod signature;
mod worker;

pub use payload::{alert_link, render, PayloadError, MAX_SLACK_FIELD_CHARS};
pub use signature::{sign, verify, SignatureError, DEFAULT_TOLERANCE_SECONDS, SIGNATURE_HEADER};
pub use worker::{backoff, DeliveryWorker, CLAIM_BATCH, CLAIM_PER_WEBHOOK, MAX_IN_FLIGHT};

use std::time::Duration;

use crate::config::PublicUrl;
use crate::storage::EventStore;

/// How deliveries are timed. `Default` is production's; tests shorten it.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// Wait after the first failed attempt; doubled after each further one.
    pub first_retry: Duration,
    /// The longest wait between attempts.
    pub max_retry: Duration,
    /// From a delivery's creation until it is given up on (a receiver down over a weekend day
    /// still gets it).
    pub give_up_after: Duration,
    /// One attempt's whole budget: connecting, sending, and the receiver's answer.
    pub timeout: Duration,
    /// How long past `timeout` a claimed attempt stays claimed: another instance takes the
    /// delivery over only after this, when the claiming one has plainly died.
    pub claim_margin: Duration,
    /// How often an idle worker looks for due deliveries.
    pub poll_every: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            first_retry: Duration::from_secs(10),
            max_retry: Duration::from_secs(60 * 60),
            give_up_after: Duration::from_secs(26 * 60 * 60),
            timeout: Duration::from_secs(10),
            claim_margin: Duration::from_secs(30),
            poll_every: Duration::from_secs(1),
        }
    }
}

/// Delivers webhooks for as long as the process runs, with production's timing. Alert links
/// point at `public_url`.
pub async fn deliver_forever(store: EventStore, public_url: PublicUrl) {
    deliver_forever_with(store, public_url, WebhookConfig::default()).await
}

/// `deliver_forever` with other timing (tests).
pub async fn deliver_forever_with(store: EventStore, public_url: PublicUrl, config: WebhookConfig) {
    /// How long to wait before building the HTTP client again after it could not be built.
    const CLIENT_RETRY: Duration = Duration::from_secs(60);
    loop {
        match DeliveryWorker::new(store.clone(), public_url.clone(), config.clone()) {
            Ok(worker) => return worker.run().await,
            Err(err) => {
                tracing::error!(%err, "webhooks: could not build the HTTP client; retrying");
                tokio::time::sleep(CLIENT_RETRY).await;
            }
        }
    }
}
