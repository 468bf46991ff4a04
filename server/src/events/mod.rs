//! Events before they are stored: how a posted JSON object becomes a validated `NewEvent`
//! (`parse`), what is never kept (`sensitive`), and the bytes the hash chain covers (`chain`).
//! Pure: no I/O, so every rule here is tested without a database.

pub mod chain;
mod network;
mod parse;
mod sensitive;

pub use network::grouping_network;
pub use parse::parse_event;
pub use sensitive::{session_fingerprint, REDACTED};

use chrono::{DateTime, SubsecRound, Utc};
use std::net::IpAddr;
use uuid::Uuid;
use vigil_wire::{ActionResult, EventType, Severity, StoredEvent};

/// The `source` of the events Vigil records about itself (its own sign-ins).
pub const SELF_SOURCE: &str = "vigil";

/// A validated event ready to insert: built by `parse_event` from what a producer posted, or by
/// `NewEvent::new` for the events Vigil records itself.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    pub id: Uuid,
    /// The producer chose `id` (its `event_id`), so it may repeat; ids Vigil generates (UUIDv7,
    /// 74 random bits) are new by construction and skip the duplicate check.
    pub id_from_producer: bool,
    pub event_type: EventType,
    pub action: String,
    pub action_result: ActionResult,
    pub severity: Severity,
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub ip_address: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub session_fingerprint: Option<String>,
    pub mfa_used: Option<bool>,
    pub reason: Option<String>,
    pub error_message: Option<String>,
    pub token_type: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub client_id: Option<String>,
    pub scope: Option<String>,
    pub forced: Option<bool>,
    pub api_key_id: Option<String>,
    pub api_key_name: Option<String>,
    pub event_data: serde_json::Value,
    pub occurred_at: Option<DateTime<Utc>>,
    /// Set by `hold_to_receipt`: the producer's `occurred_at`, too far ahead to be believed.
    pub occurred_at_claimed: Option<DateTime<Utc>>,
    pub source: String,
}

impl NewEvent {
    /// An `occurred_at` more than `max_ahead` after `now` (a producer's clock, or a forged time
    /// meant to stay at the top of newest-first lists) is kept as the claim, and the event
    /// stored as occurring when received.
    pub fn hold_to_receipt(&mut self, now: DateTime<Utc>, max_ahead: chrono::Duration) {
        if self.occurred_at.is_some_and(|t| t > now + max_ahead) {
            self.occurred_at_claimed = self.occurred_at.take();
        }
    }

    /// The event as it is stored with `seq`, received at `received_at` (already whole
    /// microseconds). Times keep whole microseconds, as PostgreSQL does, so the chain hash
    /// computed here is the one a reader recomputes from the row.
    pub fn stored(&self, seq: i64, received_at: DateTime<Utc>) -> StoredEvent {
        StoredEvent {
            seq,
            id: self.id,
            event_type: self.event_type.as_str().to_owned(),
            category: self.event_type.category(),
            action: self.action.clone(),
            action_result: self.action_result,
            severity: self.severity,
            user_id: self.user_id.clone(),
            username: self.username.clone(),
            ip_address: self.ip_address,
            user_agent: self.user_agent.clone(),
            session_fingerprint: self.session_fingerprint.clone(),
            mfa_used: self.mfa_used,
            reason: self.reason.clone(),
            error_message: self.error_message.clone(),
            token_type: self.token_type.clone(),
            expires_at: self.expires_at.map(|t| t.trunc_subsecs(6)),
            client_id: self.client_id.clone(),
            scope: self.scope.clone(),
            forced: self.forced,
            api_key_id: self.api_key_id.clone(),
            api_key_name: self.api_key_name.clone(),
            event_data: self.event_data.clone(),
            occurred_at: self.occurred_at.map_or(received_at, |t| t.trunc_subsecs(6)),
            received_at,
            occurred_at_claimed: self.occurred_at_claimed.map(|t| t.trunc_subsecs(6)),
            source: self.source.clone(),
        }
    }
}

impl NewEvent {
    /// An event Vigil itself records (or a test or the demo data makes), with the defaults a
    /// posted event of `event_type` would get: a new id, the type's action, the result's
    /// severity, no optional fields. Set those with struct update syntax; text that did not come
    /// from a parser goes through [`clip`] first.
    pub fn new(event_type: EventType, action_result: ActionResult, source: &str) -> Self {
        NewEvent {
            id: Uuid::now_v7(),
            id_from_producer: false,
            action: event_type.default_action(),
            severity: Severity::default_for(action_result),
            action_result,
            event_type,
            user_id: None,
            username: None,
            ip_address: None,
            user_agent: None,
            session_fingerprint: None,
            mfa_used: None,
            reason: None,
            error_message: None,
            token_type: None,
            expires_at: None,
            client_id: None,
            scope: None,
            forced: None,
            api_key_id: None,
            api_key_name: None,
            event_data: serde_json::Value::Object(Default::default()),
            occurred_at: None,
            occurred_at_claimed: None,
            source: source.to_owned(),
        }
    }

    /// The event of a known type with the result its type implies (`auth.login.failure` is a
    /// failure, every other known type a success).
    pub fn of_type(event_type: &str, source: &str) -> Self {
        let event_type = EventType::parse(event_type).expect("a known or well-formed event type");
        let result = match event_type.implied_success() {
            Some(false) => ActionResult::Failure,
            _ => ActionResult::Success,
        };
        NewEvent::new(event_type, result, source)
    }
}

/// `text` as a field named `field` may store it: NUL characters (which PostgreSQL cannot
/// store) dropped and cut to the field's length limit, the same limit ingest enforces.
pub fn clip(field: &str, text: &str) -> String {
    let max = parse::TEXT_FIELDS
        .iter()
        .find(|(name, _)| *name == field)
        .map_or(256, |(_, max)| *max);
    text.chars().filter(|c| *c != '\0').take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_events_get_the_defaults_a_posted_one_would() {
        let built = NewEvent::of_type("auth.login.failure", "t");
        let parsed = parse_event(serde_json::json!({"event_type": "auth.login.failure"}), "t")
            .expect("a valid event");
        assert_eq!(
            NewEvent {
                id: parsed.id,
                ..built
            },
            parsed
        );
    }

    #[test]
    fn clipped_text_fits_its_field() {
        assert_eq!(clip("username", "a\0b"), "ab");
        assert_eq!(clip("username", &"x".repeat(300)).chars().count(), 256);
        assert_eq!(
            clip("user_agent", &"é".repeat(2_000)).chars().count(),
            1_024
        );
    }
}
