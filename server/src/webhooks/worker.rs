//! The delivery loop: claim a round of due deliveries, POST them a bounded number at a time, and
//! record each outcome, which either finishes the delivery or schedules its next attempt.

use chrono::Utc;
use futures::StreamExt;
use reqwest::header::CONTENT_TYPE;
use std::time::Duration;

use super::payload::{alert_link, render};
use super::signature::{sign, SIGNATURE_HEADER};
use super::WebhookConfig;
use crate::config::PublicUrl;
use crate::storage::{AttemptOutcome, ClaimedDelivery, DeliveryState, EventStore, StorageError};

/// Most deliveries one round claims.
pub const CLAIM_BATCH: i64 = 32;
/// Most deliveries of one webhook a round claims: a receiver that never answers holds this many
/// of the round's slots for `timeout`, not all of them.
pub const CLAIM_PER_WEBHOOK: i64 = 4;
/// Most requests one instance has in flight.
pub const MAX_IN_FLIGHT: usize = 16;
/// Most of a receiver's answer read (the rest is dropped): enough to quote an error.
pub const MAX_RESPONSE_BYTES: usize = 1024;
/// Longest error kept for a failed attempt, in characters.
pub const MAX_ERROR_CHARS: usize = 200;

/// How long a worker waits after the database refused a claim.
const ERROR_PAUSE: Duration = Duration::from_secs(5);
const USER_AGENT: &str = concat!("vigil-webhooks/", env!("CARGO_PKG_VERSION"));
const DELIVERY_ID_HEADER: &str = "Vigil-Delivery-Id";
const ALERT_ID_HEADER: &str = "Vigil-Alert-Id";
const ALERT_REVISION_HEADER: &str = "Vigil-Alert-Revision";

/// One instance's sender. Several instances may run one each: a delivery is claimed by one at a
/// time (`claim_webhook_deliveries`).
pub struct DeliveryWorker {
    store: EventStore,
    public_url: PublicUrl,
    config: WebhookConfig,
    client: reqwest::Client,
}

impl DeliveryWorker {
    /// Fails only if the HTTP client cannot be built (no usable TLS roots).
    pub fn new(
        store: EventStore,
        public_url: PublicUrl,
        config: WebhookConfig,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            // A receiver's redirect is a failure to fix, not a place to send alerts to.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(USER_AGENT)
            .build()?;
        Ok(DeliveryWorker {
            store,
            public_url,
            config,
            client,
        })
    }

    /// Delivers rounds for ever: straight on while there is work, else every `poll_every`
    /// (every `ERROR_PAUSE` while the database fails).
    pub async fn run(self) {
        loop {
            let pause = match self.deliver_due().await {
                Ok(0) => self.config.poll_every,
                Ok(_) => continue,
                Err(err) => {
                    tracing::warn!(%err, "webhooks: could not claim due deliveries");
                    self.config.poll_every.max(ERROR_PAUSE)
                }
            };
            tokio::time::sleep(pause).await;
        }
    }

    /// One round: claims what is due, attempts it, and records every outcome. Returns how many
    /// deliveries it claimed.
    pub async fn deliver_due(&self) -> Result<usize, StorageError> {
        let claimed = (self.store)
            .claim_webhook_deliveries(CLAIM_BATCH, CLAIM_PER_WEBHOOK, lease(&self.config))
            .await?;
        let count = claimed.len();
        futures::stream::iter(claimed)
            .for_each_concurrent(MAX_IN_FLIGHT, |delivery| async move {
                let outcome = self.attempt(&delivery).await;
                self.record(&delivery, &outcome).await;
            })
            .await;
        Ok(count)
    }

    async fn attempt(&self, delivery: &ClaimedDelivery) -> AttemptOutcome {
        let link = alert_link(&self.public_url, delivery.alert_id);
        let body = match render(&delivery.body, delivery.format, &link) {
            Ok(body) => body,
            Err(err) => {
                return AttemptOutcome::Failed {
                    status: None,
                    error: err.to_string(),
                    retry_in: None,
                }
            }
        };
        let signature = sign(
            delivery.secret.expose(),
            Utc::now().timestamp(),
            body.as_bytes(),
        );
        let request = (self.client.post(&delivery.url))
            .header(CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header(DELIVERY_ID_HEADER, delivery.id)
            .header(ALERT_ID_HEADER, delivery.alert_id)
            .header(ALERT_REVISION_HEADER, delivery.alert_revision)
            .body(body);
        let retry_in = Some(backoff(&self.config, delivery.attempt));
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                let answer = read_bounded(response).await;
                if status.is_success() {
                    return AttemptOutcome::Delivered {
                        status: status.as_u16(),
                    };
                }
                let mut error = format!("HTTP {status}");
                if status.is_redirection() {
                    error.push_str(" (redirects are not followed)");
                }
                let answer = String::from_utf8_lossy(&answer);
                if !answer.trim().is_empty() {
                    error = format!("{error}: {}", answer.trim());
                }
                AttemptOutcome::Failed {
                    status: Some(status.as_u16()),
                    error: printable(&error),
                    retry_in,
                }
            }
            Err(err) => AttemptOutcome::Failed {
                status: None,
                // A URL the client cannot even form will never do better.
                retry_in: if err.is_builder() { None } else { retry_in },
                error: describe(err, self.config.timeout),
            },
        }
    }

    async fn record(&self, delivery: &ClaimedDelivery, outcome: &AttemptOutcome) {
        let recorded = (self.store)
            .record_webhook_attempt(delivery, outcome, self.config.give_up_after)
            .await;
        let (webhook, id, attempt) = (delivery.webhook_id, delivery.id, delivery.attempt);
        let error = match outcome {
            AttemptOutcome::Failed { error, .. } => error.as_str(),
            AttemptOutcome::Delivered { .. } => "",
        };
        match recorded {
            Ok(Some(DeliveryState::Delivered)) => {
                tracing::debug!(webhook, delivery = id, attempt, "webhook delivered")
            }
            Ok(Some(DeliveryState::Pending)) => {
                tracing::warn!(
                    webhook,
                    delivery = id,
                    attempt,
                    error,
                    "webhook attempt failed; will retry"
                )
            }
            Ok(Some(DeliveryState::Failed)) => {
                tracing::error!(
                    webhook,
                    delivery = id,
                    attempt,
                    error,
                    "webhook delivery given up"
                )
            }
            Ok(None) => tracing::debug!(
                webhook,
                delivery = id,
                attempt,
                "webhook claim lapsed; another attempt's outcome stands"
            ),
            Err(err) => tracing::warn!(
                webhook,
                delivery = id,
                attempt,
                %err,
                "could not record a webhook attempt; it is attempted again when its claim lapses"
            ),
        }
    }
}

/// How long a claim holds: every wave of a round (`MAX_IN_FLIGHT` at a time) may take the whole
/// `timeout`, and then some for recording.
fn lease(config: &WebhookConfig) -> Duration {
    let waves = (CLAIM_BATCH as usize).div_ceil(MAX_IN_FLIGHT) as u32;
    (config.timeout.saturating_mul(waves)).saturating_add(config.claim_margin)
}

/// The wait after failed attempt number `attempt` (from 1): `first_retry`, doubled per further
/// attempt, at most `max_retry`, then shortened by up to a fifth at random so that receivers
/// coming back up are not hit by every instance's retries at once.
pub fn backoff(config: &WebhookConfig, attempt: i32) -> Duration {
    let doublings = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(0)
        .min(31);
    let delay = (config.first_retry.checked_mul(1 << doublings))
        .map_or(config.max_retry, |delay| delay.min(config.max_retry));
    delay.mul_f64(rand::random_range(0.8..=1.0))
}

/// The first `MAX_RESPONSE_BYTES` of the answer; read errors end it (the status is what counts).
async fn read_bounded(mut response: reqwest::Response) -> Vec<u8> {
    let mut kept = Vec::new();
    while kept.len() < MAX_RESPONSE_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_RESPONSE_BYTES - kept.len();
                kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    kept
}

/// An HTTP client error with its causes, never the URL (a Slack webhook's path is its key).
fn describe(err: reqwest::Error, timeout: Duration) -> String {
    if err.is_timeout() {
        return format!("timed out after {timeout:?}");
    }
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    printable(&text)
}

/// Control characters blanked (the text reaches terminals through `vigil webhooks`), cut to
/// `MAX_ERROR_CHARS`.
fn printable(text: &str) -> String {
    let mut out: String = (text.chars().take(MAX_ERROR_CHARS))
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(MAX_ERROR_CHARS).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_first_retry_up_to_the_cap_with_jitter() {
        let config = WebhookConfig::default();
        for attempt in [-5, 0, 1, 2, 3, 9, 10, 11, 40, i32::MAX] {
            let wait = backoff(&config, attempt);
            let full = match attempt {
                ..=1 => Duration::from_secs(10),
                2 => Duration::from_secs(20),
                3 => Duration::from_secs(40),
                9 => Duration::from_secs(2560),
                _ => Duration::from_secs(3600),
            };
            assert!(
                wait <= full && wait >= full.mul_f64(0.8),
                "{attempt}: {wait:?}"
            );
        }
    }

    #[test]
    fn errors_are_printable_and_bounded() {
        assert_eq!(printable("a\nb\u{1b}[31m"), "a b [31m");
        let long = printable(&"x".repeat(1000));
        assert_eq!(long.chars().count(), MAX_ERROR_CHARS + 1);
    }

    #[test]
    fn a_claim_outlasts_every_wave_of_a_round() {
        let lease = lease(&WebhookConfig::default());
        assert_eq!(lease, Duration::from_secs(2 * 10 + 30));
    }
}
