//! One pending event: required arguments were given by the `log_*` method, optional ones are
//! chained, and awaiting the call sends it (or queues it, for the buffered client).

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::borrow::Cow;
use std::future::{Future, IntoFuture};
use std::net::IpAddr;
use std::pin::Pin;
use uuid::Uuid;

use super::ClientError;
use crate::{ActionResult, EventInput, EventType, EventTypeError, Severity};

/// The future a [`Call`] turns into when awaited.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::super::AuditClient {}
    impl Sealed for super::super::BufferedAuditClient {}
}

/// Where an awaited [`Call`] goes: [`AuditClient`](super::AuditClient) sends it now and answers
/// with the receipt; [`BufferedAuditClient`](super::BufferedAuditClient) queues it.
pub trait Deliver: sealed::Sealed + Sync {
    type Output: Send;
    #[doc(hidden)]
    fn deliver(&self, event: Result<EventInput, ClientError>) -> BoxFuture<'_, Self::Output>;
}

/// A value for a text field: a string, a number or UUID (ids), an IP address, or an `Option` of
/// one, where `None` leaves the field out, as the seed's `None` defaults do. So
/// `headers.get("user-agent")`-style options pass straight through.
pub trait IntoText {
    fn into_text(self) -> Option<String>;
}

macro_rules! into_text_by_to_string {
    ($($t:ty),*) => {$(
        impl IntoText for $t {
            fn into_text(self) -> Option<String> {
                Some(self.to_string())
            }
        }
    )*};
}
into_text_by_to_string!(
    &str,
    String,
    &String,
    Cow<'_, str>,
    IpAddr,
    Uuid,
    i32,
    i64,
    u32,
    u64,
    usize
);

impl<T: IntoText> IntoText for Option<T> {
    fn into_text(self) -> Option<String> {
        self.and_then(IntoText::into_text)
    }
}

/// An event type: an [`EventType`], or a string in any spelling the server accepts
/// (`"auth.mfa.enabled"`, `"MFA_ENABLED"`, `"AuthEventType.MFA_ENABLED"`, a custom
/// `"billing.export.run"`). A string that is none of these fails the call before sending.
pub trait IntoEventType {
    fn into_event_type(self) -> Result<EventType, EventTypeError>;
}

impl IntoEventType for EventType {
    fn into_event_type(self) -> Result<EventType, EventTypeError> {
        Ok(self)
    }
}

impl IntoEventType for &EventType {
    fn into_event_type(self) -> Result<EventType, EventTypeError> {
        Ok(self.clone())
    }
}

impl IntoEventType for &str {
    fn into_event_type(self) -> Result<EventType, EventTypeError> {
        EventType::parse(self)
    }
}

impl IntoEventType for String {
    fn into_event_type(self) -> Result<EventType, EventTypeError> {
        EventType::parse(&self)
    }
}

/// An event being written: chain the optional fields, then `.await` it. Nothing is sent until
/// then. It already carries a fresh `event_id` (UUIDv7), so every retry is the same event.
#[must_use = "an event is sent only when the call is awaited"]
pub struct Call<'a, C: Deliver> {
    target: &'a C,
    event: Result<EventInput, ClientError>,
}

macro_rules! text_setters {
    ($($(#[$doc:meta])* $field:ident),* $(,)?) => {$(
        $(#[$doc])*
        pub fn $field(self, value: impl IntoText) -> Self {
            self.with(|e| e.$field = value.into_text())
        }
    )*};
}

impl<'a, C: Deliver> Call<'a, C> {
    pub(crate) fn new(
        target: &'a C,
        event_type: impl IntoEventType,
        action_result: Option<ActionResult>,
    ) -> Self {
        let event = event_type
            .into_event_type()
            .map(|event_type| EventInput {
                event_id: Some(Uuid::now_v7()),
                action_result,
                ..EventInput::new(event_type)
            })
            .map_err(|e| ClientError::invalid("event_type", e));
        Call { target, event }
    }

    fn with(mut self, set: impl FnOnce(&mut EventInput)) -> Self {
        if let Ok(event) = &mut self.event {
            set(event);
        }
        self
    }

    text_setters!(
        /// What was done, e.g. `token_exchange`; the server derives it from the type if unset.
        action,
        user_id,
        username,
        /// IPv4 or IPv6; the server refuses anything else.
        ip_address,
        user_agent,
        /// Stored only as a fingerprint.
        session_id,
        reason,
        error_message,
        token_type,
        client_id,
        scope,
        api_key_id,
        api_key_name,
    );

    /// Overrides the generated id: for callers that keep their own idempotency key.
    pub fn event_id(self, id: Uuid) -> Self {
        self.with(|e| e.event_id = Some(id))
    }

    pub fn action_result(self, result: impl Into<Option<ActionResult>>) -> Self {
        self.with(|e| e.action_result = result.into())
    }

    /// Unset, the server picks `warning` for failures and `info` otherwise.
    pub fn severity(self, severity: impl Into<Option<Severity>>) -> Self {
        self.with(|e| e.severity = severity.into())
    }

    pub fn mfa_used(self, used: impl Into<Option<bool>>) -> Self {
        self.with(|e| e.mfa_used = used.into())
    }

    pub fn forced(self, forced: impl Into<Option<bool>>) -> Self {
        self.with(|e| e.forced = forced.into())
    }

    pub fn expires_at(self, at: impl Into<Option<DateTime<Utc>>>) -> Self {
        self.with(|e| e.expires_at = at.into())
    }

    /// When it happened, if not now (events replayed from a local spool, say).
    pub fn occurred_at(self, at: impl Into<Option<DateTime<Utc>>>) -> Self {
        self.with(|e| e.occurred_at = at.into())
    }

    /// Free-form context: anything that serializes to a JSON object, such as
    /// `serde_json::json!({"custom_field": "value"})`. Values of secret-looking keys are stored
    /// as `[REDACTED]` by the server, but better not sent at all.
    pub fn event_data(mut self, data: impl Serialize) -> Self {
        if self.event.is_err() {
            return self;
        }
        match serde_json::to_value(data) {
            Ok(serde_json::Value::Object(map)) => self.with(|e| e.event_data = Some(map)),
            Ok(serde_json::Value::Null) => self.with(|e| e.event_data = None),
            Ok(_) => {
                self.event = Err(ClientError::invalid("event_data", "must be a JSON object"));
                self
            }
            Err(err) => {
                self.event = Err(ClientError::invalid("event_data", err));
                self
            }
        }
    }

    /// The event as it would be sent, for callers that batch or store events themselves.
    pub fn into_event(self) -> Result<EventInput, ClientError> {
        self.event
    }

    /// Same as awaiting the call.
    pub async fn send(self) -> C::Output {
        self.await
    }

    pub(crate) fn into_parts(self) -> (&'a C, Result<EventInput, ClientError>) {
        (self.target, self.event)
    }
}

impl<'a, C: Deliver> IntoFuture for Call<'a, C> {
    type Output = C::Output;
    type IntoFuture = BoxFuture<'a, C::Output>;

    fn into_future(self) -> Self::IntoFuture {
        self.target.deliver(self.event)
    }
}

impl<C: Deliver> std::fmt::Debug for Call<'_, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call").field("event", &self.event).finish()
    }
}
