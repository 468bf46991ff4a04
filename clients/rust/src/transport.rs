//! One POST to `/api/v1/events`, and the loop that repeats it until it is answered for good.

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use std::time::Duration;

use super::error::parse_error_body;
use super::retry::{is_retryable_status, parse_retry_after};
use super::{AuditClient, ClientError, MAX_BATCH};
use crate::{EventInput, IngestReceipt, IngestResponse};

/// Why one attempt did not end the call.
enum AttemptError {
    /// Worth another attempt (same body, same event ids).
    Retry(Transient),
    /// The final answer.
    Final(ClientError),
}

struct Transient {
    status: Option<u16>,
    message: String,
    retry_after: Option<Duration>,
}

impl AuditClient {
    /// Posts events that already carry their `event_id`s, retrying per the policy. The body is
    /// serialized once, so every attempt is byte-for-byte the same request.
    pub(crate) async fn post_events(
        &self,
        events: &[EventInput],
    ) -> Result<Vec<IngestReceipt>, ClientError> {
        if events.is_empty() || events.len() > MAX_BATCH {
            return Err(ClientError::invalid(
                "events",
                format!(
                    "a request carries 1 to {MAX_BATCH} events, not {}",
                    events.len()
                ),
            ));
        }
        let body = serde_json::to_string(events).map_err(|e| ClientError::invalid("events", e))?;
        let policy = &self.inner.retry;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let transient = match self.attempt(body.clone(), events.len()).await {
                Ok(receipts) => return Ok(receipts),
                Err(AttemptError::Final(error)) => return Err(error),
                Err(AttemptError::Retry(transient)) => transient,
            };
            if attempt >= policy.max_attempts {
                return Err(ClientError::Unavailable {
                    attempts: attempt,
                    last_status: transient.status,
                    message: transient.message,
                });
            }
            let wait = policy.delay(attempt, transient.retry_after);
            tracing::debug!(
                attempt,
                ?wait,
                status = transient.status,
                "vigil: retrying after: {}",
                transient.message
            );
            tokio::time::sleep(wait).await;
        }
    }

    async fn attempt(
        &self,
        body: String,
        expected: usize,
    ) -> Result<Vec<IngestReceipt>, AttemptError> {
        let inner = &self.inner;
        let response = inner
            .http
            .post(&inner.endpoint)
            .header(AUTHORIZATION, inner.authorization.clone())
            .header(CONTENT_TYPE, "application/json")
            .timeout(inner.timeout)
            .body(body)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        // A connection dropped while the answer is read is as retryable as one dropped before.
        let text = response.text().await.map_err(transport_error)?;

        if (200..300).contains(&status) {
            return match serde_json::from_str::<IngestResponse>(&text) {
                Ok(answer) if answer.events.len() == expected => Ok(answer.events),
                Ok(answer) => Err(self.unexpected(
                    status,
                    format!("{} receipts for {expected} events", answer.events.len()),
                )),
                Err(e) => Err(self.unexpected(status, format!("not an ingest answer: {e}"))),
            };
        }
        let error = parse_error_body(status, &text);
        if is_retryable_status(status) {
            return Err(AttemptError::Retry(Transient {
                status: Some(status),
                message: format!("{status} {}: {}", error.error, error.message),
                retry_after,
            }));
        }
        if (400..500).contains(&status) {
            return Err(AttemptError::Final(ClientError::Rejected {
                status,
                code: error.error,
                message: error.message,
                details: error.details.unwrap_or_default(),
            }));
        }
        Err(self.unexpected(status, error.message))
    }

    fn unexpected(&self, status: u16, message: String) -> AttemptError {
        AttemptError::Final(ClientError::UnexpectedResponse {
            url: self.inner.endpoint.clone(),
            status,
            message,
        })
    }
}

/// Connection refused or reset, timeouts, a response cut short: all retryable, since the
/// server stores a repeated `event_id` once. Only a request that cannot be built is final.
fn transport_error(error: reqwest::Error) -> AttemptError {
    if error.is_builder() {
        return AttemptError::Final(ClientError::Config(error_chain(&error)));
    }
    AttemptError::Retry(Transient {
        status: None,
        message: error_chain(&error),
        retry_after: None,
    })
}

/// reqwest's own message is terse ("error sending request"); the cause says what happened.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
