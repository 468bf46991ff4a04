//! Sensitive values in events: secret-looking `event_data` keys are redacted before storage, and
//! session ids are kept only as fingerprints.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Keys in `event_data` whose values are never stored (the seed: "don't log sensitive data").
const SECRET_KEY_MARKERS: [&str; 8] = [
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "authorization",
    "cookie",
    "credential",
];
pub const REDACTED: &str = "[REDACTED]";

/// The stored stand-in for a session id: searchable by hashing the raw id the same way, useless
/// to anyone who reads the table.
pub fn session_fingerprint(raw: &str) -> String {
    let digest = Sha256::digest(raw.as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Replaces the values of secret-looking keys, at any depth.
pub(super) fn redact(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, v)| {
                    let lower = key.to_ascii_lowercase();
                    if SECRET_KEY_MARKERS.iter().any(|m| lower.contains(m)) {
                        (key, Value::String(REDACTED.to_owned()))
                    } else {
                        (key, redact(v))
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_in_event_data_are_redacted_at_any_depth() {
        let data = json!({"Password": "x", "nested": {"refresh_TOKEN": "y", "ok": 1}, "list": [{"cookie": "z"}]});
        assert_eq!(
            redact(data),
            json!({"Password": REDACTED, "nested": {"refresh_TOKEN": REDACTED, "ok": 1}, "list": [{"cookie": REDACTED}]})
        );
    }

    #[test]
    fn fingerprints_are_stable_and_not_the_raw_id() {
        assert_eq!(session_fingerprint("abc"), session_fingerprint("abc"));
        assert_ne!(session_fingerprint("abc"), session_fingerprint("abd"));
        assert_eq!(session_fingerprint("abc").len(), 32);
    }
}
