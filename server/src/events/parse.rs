//! Parsing one posted JSON object into a `NewEvent`, collecting every field's problem at once.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::net::IpAddr;
use uuid::Uuid;
use vigil_wire::{ActionResult, EventType, FieldError, Severity};

use super::sensitive::{redact, redact_field, session_fingerprint};
use super::NewEvent;

/// Every top-level field a producer may send, with the longest text it may carry.
pub(super) const TEXT_FIELDS: [(&str, usize); 12] = [
    ("action", 128),
    ("user_id", 256),
    ("username", 256),
    ("user_agent", 1024),
    ("session_id", 1024),
    ("reason", 4096),
    ("error_message", 4096),
    ("token_type", 64),
    ("client_id", 256),
    ("scope", 1024),
    ("api_key_id", 256),
    ("api_key_name", 256),
];
const OTHER_FIELDS: [&str; 10] = [
    "event_type",
    "event_id",
    "action_result",
    "severity",
    "ip_address",
    "mfa_used",
    "expires_at",
    "forced",
    "event_data",
    "occurred_at",
];
/// Identifiers that producers often hold as numbers (`user.id`); stored as text.
const NUMERIC_ID_FIELDS: [&str; 3] = ["user_id", "client_id", "api_key_id"];

/// Parses and validates one event; `source` is the producer's name.
pub fn parse_event(value: Value, source: &str) -> Result<NewEvent, Vec<FieldError>> {
    let Value::Object(mut fields) = value else {
        return Err(vec![FieldError::new("", "an event must be a JSON object")]);
    };
    // JSON null means "not given", as it does for the seed's keyword arguments.
    fields.retain(|_, v| !v.is_null());
    let mut errors = Vec::new();
    for key in fields.keys() {
        let known =
            TEXT_FIELDS.iter().any(|(f, _)| f == key) || OTHER_FIELDS.contains(&key.as_str());
        if !known {
            errors.push(FieldError::new(
                key,
                "unknown field; put extra context in `event_data`",
            ));
        }
    }
    let mut text = |name: &str| take_text(&mut fields, name, &mut errors);
    let action = text("action");
    let user_id = text("user_id");
    let username = text("username");
    let user_agent = redact_field(text("user_agent"));
    let session_id = text("session_id");
    let reason = redact_field(text("reason"));
    let error_message = redact_field(text("error_message"));
    let token_type = text("token_type");
    let client_id = text("client_id");
    let scope = redact_field(text("scope"));
    let api_key_id = text("api_key_id");
    let api_key_name = text("api_key_name");

    let event_type = match fields.remove("event_type") {
        None => {
            errors.push(FieldError::new("event_type", "is required"));
            None
        }
        Some(Value::String(s)) => EventType::parse(&s)
            .map_err(|e| errors.push(FieldError::new("event_type", e.to_string())))
            .ok(),
        Some(_) => {
            errors.push(FieldError::new("event_type", "must be a string"));
            None
        }
    };
    let event_id = take_parsed(&mut fields, "event_id", &mut errors, |s| {
        Uuid::parse_str(s).map_err(|_| "must be a UUID".to_owned())
    });
    let action_result = take_parsed(&mut fields, "action_result", &mut errors, |s| {
        s.parse::<ActionResult>().map_err(|e| e.to_string())
    });
    let severity = take_parsed(&mut fields, "severity", &mut errors, |s| {
        s.parse::<Severity>().map_err(|e| e.to_string())
    });
    let ip_address = take_parsed(&mut fields, "ip_address", &mut errors, |s| {
        s.trim()
            .parse::<IpAddr>()
            .map_err(|_| "must be an IPv4 or IPv6 address".to_owned())
    });
    let expires_at = take_parsed(&mut fields, "expires_at", &mut errors, parse_time);
    let occurred_at = take_parsed(&mut fields, "occurred_at", &mut errors, parse_time);
    let mfa_used = take_bool(&mut fields, "mfa_used", &mut errors);
    let forced = take_bool(&mut fields, "forced", &mut errors);
    let event_data = match fields.remove("event_data") {
        None => Value::Object(Map::new()),
        // PostgreSQL text and jsonb cannot hold U+0000; refuse it rather than fail the insert.
        Some(Value::Object(map)) if holds_nul(&Value::Object(map.clone())) => {
            errors.push(FieldError::new(
                "event_data",
                "must not contain NUL characters",
            ));
            Value::Null
        }
        Some(Value::Object(map)) => redact(Value::Object(map)),
        Some(_) => {
            errors.push(FieldError::new("event_data", "must be a JSON object"));
            Value::Null
        }
    };

    let Some(event_type) = event_type else {
        return Err(errors);
    };
    let action_result = action_result.or_else(|| match event_type.implied_success() {
        Some(true) => Some(ActionResult::Success),
        Some(false) => Some(ActionResult::Failure),
        None if event_type.is_known() => Some(ActionResult::Success),
        None => {
            errors.push(FieldError::new(
                "action_result",
                "is required for custom event types",
            ));
            None
        }
    });
    if !errors.is_empty() {
        return Err(errors);
    }
    let action_result = action_result.expect("set or reported above");
    Ok(NewEvent {
        id_from_producer: event_id.is_some(),
        id: event_id.unwrap_or_else(Uuid::now_v7),
        action: action.unwrap_or_else(|| event_type.default_action()),
        severity: severity.unwrap_or(Severity::default_for(action_result)),
        action_result,
        event_type,
        user_id,
        username,
        ip_address,
        user_agent,
        session_fingerprint: session_id.as_deref().map(session_fingerprint),
        mfa_used,
        reason,
        error_message,
        token_type,
        expires_at,
        client_id,
        scope,
        forced,
        api_key_id,
        api_key_name,
        event_data,
        occurred_at,
        occurred_at_claimed: None,
        source: source.to_owned(),
    })
}

fn take_text(
    fields: &mut Map<String, Value>,
    name: &str,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let max = TEXT_FIELDS
        .iter()
        .find(|(f, _)| *f == name)
        .map_or(256, |(_, m)| *m);
    let text = match fields.remove(name)? {
        Value::String(s) => s,
        Value::Number(n) if NUMERIC_ID_FIELDS.contains(&name) => n.to_string(),
        _ if NUMERIC_ID_FIELDS.contains(&name) => {
            errors.push(FieldError::new(name, "must be a string or a number"));
            return None;
        }
        _ => {
            errors.push(FieldError::new(name, "must be a string"));
            return None;
        }
    };
    if text.contains('\0') {
        errors.push(FieldError::new(name, "must not contain NUL characters"));
        return None;
    }
    if text.chars().count() > max {
        errors.push(FieldError::new(
            name,
            format!("must be at most {max} characters"),
        ));
        return None;
    }
    Some(text)
}

fn take_parsed<T>(
    fields: &mut Map<String, Value>,
    name: &str,
    errors: &mut Vec<FieldError>,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Option<T> {
    match fields.remove(name)? {
        Value::String(s) => parse(&s)
            .map_err(|reason| errors.push(FieldError::new(name, reason)))
            .ok(),
        _ => {
            errors.push(FieldError::new(name, "must be a string"));
            None
        }
    }
}

fn take_bool(
    fields: &mut Map<String, Value>,
    name: &str,
    errors: &mut Vec<FieldError>,
) -> Option<bool> {
    match fields.remove(name)? {
        Value::Bool(b) => Some(b),
        _ => {
            errors.push(FieldError::new(name, "must be true or false"));
            None
        }
    }
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| "must be an RFC 3339 timestamp such as 2026-01-31T12:00:00Z".to_owned())
}

fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields_of(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn seed_login_failure_gets_defaults() {
        let event = parse_event(
            json!({"event_type": "LOGIN_FAILURE", "username": "alice", "ip_address": "10.0.0.1", "reason": "Invalid credentials"}),
            "test",
        )
        .unwrap();
        assert_eq!(event.event_type.as_str(), "auth.login.failure");
        assert_eq!(event.action, "login_failure");
        assert_eq!(event.action_result, ActionResult::Failure);
        assert_eq!(event.severity, Severity::Warning);
        assert_eq!(event.ip_address, Some("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn every_bad_field_is_reported() {
        let errors = parse_event(
            json!({"event_type": "auth.login.success", "ip_address": "999.1.1.1", "mfa_used": "yes",
                   "severity": "loud", "extra": 1, "occurred_at": "yesterday", "user_id": [1]}),
            "test",
        )
        .unwrap_err();
        let mut fields = fields_of(&errors);
        fields.sort();
        assert_eq!(
            fields,
            [
                "extra",
                "ip_address",
                "mfa_used",
                "occurred_at",
                "severity",
                "user_id"
            ]
        );
        assert!(errors.iter().any(|e| e.reason.contains("event_data")));
    }

    #[test]
    fn missing_event_type_and_non_objects_are_rejected() {
        assert_eq!(
            fields_of(&parse_event(json!({"username": "a"}), "t").unwrap_err()),
            ["event_type"]
        );
        assert!(parse_event(json!([1]), "t").is_err());
    }

    #[test]
    fn session_ids_are_fingerprinted_and_numeric_ids_accepted() {
        let event = parse_event(
            json!({"event_type": "auth.logout", "session_id": "abc", "user_id": 42}),
            "t",
        )
        .unwrap();
        assert_eq!(
            event.session_fingerprint.as_deref(),
            Some(session_fingerprint("abc").as_str())
        );
        assert_ne!(event.session_fingerprint.as_deref(), Some("abc"));
        assert_eq!(event.user_id.as_deref(), Some("42"));
    }

    #[test]
    fn nul_characters_are_refused_where_postgres_cannot_store_them() {
        let errors = parse_event(
            json!({"event_type": "auth.logout", "username": "a\u{0}b", "event_data": {"k\u{0}": 1}}),
            "t",
        )
        .unwrap_err();
        assert_eq!(fields_of(&errors), ["username", "event_data"]);
    }

    #[test]
    fn custom_types_need_an_explicit_result() {
        let errors = parse_event(json!({"event_type": "billing.export.run"}), "t").unwrap_err();
        assert_eq!(fields_of(&errors), ["action_result"]);
        assert!(parse_event(
            json!({"event_type": "billing.export.run", "action_result": "success"}),
            "t"
        )
        .is_ok());
    }
}
