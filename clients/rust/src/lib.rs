//! Vigil's Rust client SDK: the seed's `AuditService` calls, sent to Vigil over
//! HTTP with the same wire types the server parses.
//!
//! Each seed call is a method with the seed's required arguments; optional ones are chained,
//! and `.await` sends the event:
//!
//! | seed (Python) | Rust |
//! |---|---|
//! | `await audit.log_login_failure(username=u, ip_address=ip, reason=r)` | `audit.log_login_failure(u, ip, r).await?` |
//! | `…, user_agent=ua, session_id=s, mfa_used=True)` | `….user_agent(ua).session_id(s).mfa_used(true).await?` |
//! | `event_type=AuthEventType.MFA_ENABLED` | `"MFA_ENABLED"` (or `"auth.mfa.enabled"`, or an [`EventType`](crate::EventType)) |
//! | `action_result=ActionResult.SUCCESS`, `severity=Severity.ERROR` | `ActionResult::Success`, `.severity(Severity::Error)` |
//!
//! Every event gets a UUIDv7 `event_id` when it is written, so the retries this client makes
//! after a timeout, a dropped connection or a 5xx/503 (with backoff, honouring `Retry-After`)
//! can never store it twice. A 4xx is never retried: it comes back as
//! [`ClientError::Rejected`] with the server's code, message and per-field details.
//!
//! [`AuditClient`] sends each event before the call returns, as the seed's `await` does.
//! [`BufferedAuditClient`] queues events and sends them in batches from a background task.
//!
//! HTTPS: the client uses `reqwest` without a TLS backend of its own, so plain-HTTP sidecars
//! cost nothing. To reach Vigil over `https://`, add `reqwest = { version = "0.12", features =
//! ["rustls-tls"] }` to your own `Cargo.toml` (features unify), or pass a configured client to
//! [`AuditClientBuilder::http_client`].

mod buffered;
mod builder;
mod call;
mod calls;
mod error;
mod retry;
mod transport;
mod worker;

pub use buffered::{
    BufferConfig, BufferError, BufferedAuditClient, FailedBatch, ShutDown, ShutdownReport,
};
pub use builder::AuditClientBuilder;
pub use call::{BoxFuture, Call, Deliver, IntoEventType, IntoText};
pub use error::ClientError;
pub use retry::RetryPolicy;
/// The wire types a caller of this SDK meets, so `vigil-client` is the only dependency it needs.
pub use vigil_wire::{
    ActionResult, EventInput, EventType, EventTypeError, FieldError, IngestReceipt, IngestResponse,
    Severity, MAX_EVENTS_PER_REQUEST,
};

use reqwest::header::HeaderValue;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Most events one request may carry (the server refuses more with a 413).
pub const MAX_BATCH: usize = MAX_EVENTS_PER_REQUEST;

/// Sends events to Vigil, one request per call. Cheap to clone: clones share one connection
/// pool, so keep one in your application state.
///
/// ```no_run
/// use vigil_client::{AuditClient, ClientError};
/// use vigil_client::{ActionResult, Severity};
///
/// # async fn demo() -> Result<(), ClientError> {
/// let audit = AuditClient::new("http://127.0.0.1:3000", "vigil_…ingest key…")?;
///
/// // await audit.log_login_success(user_id=user.id, username=user.username,
/// //     ip_address=request.client.host, user_agent=…, session_id=session_id, mfa_used=True)
/// let receipt = audit
///     .log_login_success(42, "alice", "203.0.113.7")
///     .user_agent("Mozilla/5.0")
///     .session_id("sess-7f3a")
///     .mfa_used(true)
///     .await?;
/// println!("stored as #{}", receipt.seq);
///
/// // await audit.log_auth_event(event_type="auth.custom.event", action="custom_action",
/// //     action_result=ActionResult.SUCCESS, ..., event_data={...}, severity=Severity.INFO)
/// audit
///     .log_auth_event("auth.custom.event", "custom_action", ActionResult::Success)
///     .user_id(42)
///     .event_data(serde_json::json!({"custom_field": "value"}))
///     .severity(Severity::Info)
///     .await?;
///
/// // A 4xx is not retried: it says what the server refused, and why.
/// if let Err(ClientError::Rejected { status, details, .. }) = audit
///     .log_login_failure("alice", "not-an-ip", "Invalid credentials")
///     .await
/// {
///     eprintln!("{status}: {}: {}", details[0].field, details[0].reason);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AuditClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// `<base>/api/v1/events`.
    endpoint: String,
    /// `Bearer <key>`, marked sensitive so it never shows in debug output.
    authorization: HeaderValue,
    retry: RetryPolicy,
    timeout: Duration,
}

impl AuditClient {
    /// A client with the default retry policy and a 10 s timeout per attempt. `base_url` is
    /// where Vigil serves (`http://127.0.0.1:3000`, possibly under a path prefix); `key` is an
    /// ingest key (`vigil keys create --name my-service`).
    pub fn new(base_url: impl Into<String>, key: impl Into<String>) -> Result<Self, ClientError> {
        Self::builder(base_url, key).build()
    }

    /// For a different retry policy, timeout or HTTP client.
    pub fn builder(base_url: impl Into<String>, key: impl Into<String>) -> AuditClientBuilder {
        AuditClientBuilder {
            base_url: base_url.into(),
            key: key.into(),
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(10),
            http: None,
        }
    }

    /// Sends one prepared event, giving it an `event_id` if it has none.
    pub async fn send(&self, mut event: EventInput) -> Result<IngestReceipt, ClientError> {
        event.event_id.get_or_insert_with(Uuid::now_v7);
        let mut receipts = self.post_events(std::slice::from_ref(&event)).await?;
        Ok(receipts.remove(0))
    }

    /// Sends 1 to [`MAX_BATCH`] events in one request, stored all or nothing; events without an
    /// `event_id` get one. Receipts come back in the order of `events`.
    pub async fn send_batch(
        &self,
        mut events: Vec<EventInput>,
    ) -> Result<Vec<IngestReceipt>, ClientError> {
        for event in &mut events {
            event.event_id.get_or_insert_with(Uuid::now_v7);
        }
        self.post_events(&events).await
    }

    /// The URL events are posted to.
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }
}

impl std::fmt::Debug for AuditClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditClient")
            .field("endpoint", &self.inner.endpoint)
            .field("retry", &self.inner.retry)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

impl Deliver for AuditClient {
    type Output = Result<IngestReceipt, ClientError>;

    fn deliver(&self, event: Result<EventInput, ClientError>) -> BoxFuture<'_, Self::Output> {
        Box::pin(async move { self.send(event?).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ActionResult, Severity};

    fn client() -> AuditClient {
        AuditClient::new("http://127.0.0.1:9/prefix/", "vigil_secret").unwrap()
    }

    #[test]
    fn endpoint_and_configuration_errors() {
        assert_eq!(
            client().endpoint(),
            "http://127.0.0.1:9/prefix/api/v1/events"
        );
        assert!(!format!("{:?}", client()).contains("vigil_secret"));
        for (url, key) in [("not a url", "k"), ("ftp://host", "k"), ("http://h", " ")] {
            assert!(matches!(
                AuditClient::new(url, key),
                Err(ClientError::Config(_))
            ));
        }
    }

    #[test]
    fn seed_calls_build_the_seed_events() {
        let audit = client();
        let event = audit
            .log_login_failure("alice", "10.0.0.1", "Invalid credentials")
            .user_agent(None::<&str>)
            .into_event()
            .unwrap();
        assert_eq!(event.event_type.as_str(), "auth.login.failure");
        assert_eq!(event.action_result, Some(ActionResult::Failure));
        assert_eq!(event.reason.as_deref(), Some("Invalid credentials"));
        assert_eq!(event.user_agent, None);
        assert!(event.event_id.is_some());

        let mfa = audit
            .log_mfa_event(
                "AuthEventType.MFA_ENABLED",
                7_i64,
                "bob",
                ActionResult::Success,
            )
            .severity(Severity::Info)
            .into_event()
            .unwrap();
        assert_eq!(mfa.event_type.as_str(), "auth.mfa.enabled");
        assert_eq!(mfa.user_id.as_deref(), Some("7"));
    }

    #[test]
    fn bad_types_and_event_data_fail_before_sending() {
        let audit = client();
        let bad_type = audit
            .log_auth_event("Not A Type", "x", ActionResult::Success)
            .into_event();
        assert!(
            matches!(bad_type, Err(ClientError::InvalidEvent { ref field, .. }) if field == "event_type")
        );
        let bad_data = audit
            .log_auth_event("auth.custom.event", "x", ActionResult::Success)
            .event_data([1, 2])
            .into_event();
        assert!(
            matches!(bad_data, Err(ClientError::InvalidEvent { ref field, .. }) if field == "event_data")
        );
    }
}
