//! Sensitive values in events: secrets are redacted before storage, wherever they are (the
//! README's "Secrets in events" lists the rules), and session ids are kept only as fingerprints.
//!
//! - In `event_data`, the value of a secret-looking key, of a `[name, value]` pair or a
//!   `{"name": …, "value": …}` header whose name is one, at any depth.
//! - In every other string of `event_data` and in the free-text fields: `Bearer`/`Basic`
//!   credentials, JWTs, Vigil's own keys, and `secret-name=value` (query strings, log lines).

use base64::Engine;
use regex::{Captures, Regex};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::sync::LazyLock;

pub const REDACTED: &str = "[REDACTED]";

/// Normalised key names (lower case, without `-`, `_`, `.` and spaces) that contain one of
/// these are secrets…
const SECRET_PARTS: [&str; 15] = [
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "privatekey",
    "accesskey",
    "authorization",
    "cookie",
    "credential",
    "jwt",
    "bearer",
    "sessionid",
    "signature",
];
/// …and so are these, whole (as parts they are in too many ordinary words).
const SECRET_NAMES: [&str; 7] = ["pwd", "pass", "pw", "auth", "otp", "pin", "passcode"];
/// Names that contain a part but say what kind of secret, not which.
const NOT_SECRETS: [&str; 3] = ["tokentype", "authtype", "authmethod"];

fn normalised(name: &str) -> String {
    (name.chars())
        .filter(|c| !matches!(c, '-' | '_' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether a key or parameter name names a secret: `apiKey`, `X-API-Key`, `client_secret`, …
pub fn is_secret_name(name: &str) -> bool {
    let name = normalised(name);
    !NOT_SECRETS.contains(&name.as_str())
        && (SECRET_NAMES.contains(&name.as_str()) || SECRET_PARTS.iter().any(|p| name.contains(p)))
}

/// Credentials that are secrets wherever they appear.
static CREDENTIALS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i:\b(?P<scheme>bearer|basic)\s+)(?P<credential>[A-Za-z0-9._~+/-]+=*)",
        r"|\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*",
        r"|\bvigil_[A-Za-z0-9]{40}\b",
    ))
    .expect("a valid pattern")
});
/// `name=value`, as in query strings and log lines; only secret names are redacted.
static NAMED_VALUES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?P<name>[A-Za-z0-9_.-]+)(?P<eq>\s*=\s*)(?P<value>[^\s&;,"'<>()]+)"#)
        .expect("a valid pattern")
});

/// `credential` after `Bearer` or `Basic`: a token, not an English word ("Bearer tokens are
/// required", "Basic authentication failed" stay as they are).
fn is_credential(scheme: &str, credential: &str) -> bool {
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD.decode(credential);
        return decoded.is_ok_and(|bytes| bytes.contains(&b':'));
    }
    credential.len() >= 8
        && credential
            .chars()
            .any(|c| c.is_ascii_digit() || "._~+/-=".contains(c))
}

/// `text` with every credential and secret `name=value` redacted; borrowed when clean.
pub fn redact_text(text: &str) -> Cow<'_, str> {
    let pass = CREDENTIALS.replace_all(text, |c: &Captures| {
        match (c.name("scheme"), c.name("credential")) {
            (Some(scheme), Some(credential))
                if !is_credential(scheme.as_str(), credential.as_str()) =>
            {
                c[0].to_owned()
            }
            (Some(scheme), Some(_)) => format!("{} {REDACTED}", scheme.as_str()),
            _ => REDACTED.to_owned(),
        }
    });
    let redacted = redact_named_values(&pass);
    // A match that was no credential is replaced by itself: still the input.
    if redacted == text {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(redacted.into_owned())
    }
}

/// The values of secret `name=value` pairs redacted; borrowed when there were none.
fn redact_named_values(text: &str) -> Cow<'_, str> {
    if !text.contains('=') {
        return Cow::Borrowed(text);
    }
    let named = NAMED_VALUES.replace_all(text, |c: &Captures| {
        if is_secret_name(&c["name"]) {
            format!("{}{}{REDACTED}", &c["name"], &c["eq"])
        } else {
            c[0].to_owned()
        }
    });
    // A non-secret `name=value` is replaced by itself: still the input.
    if named == text {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(named.into_owned())
    }
}

/// `redact_text` for an optional free-text field.
pub(super) fn redact_field(text: Option<String>) -> Option<String> {
    text.map(|t| match redact_text(&t) {
        Cow::Borrowed(_) => t,
        Cow::Owned(redacted) => redacted,
    })
}

/// The stored stand-in for a session id: searchable by hashing the raw id the same way, useless
/// to anyone who reads the table.
pub fn session_fingerprint(raw: &str) -> String {
    let digest = Sha256::digest(raw.as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Redacts `event_data`, at any depth.
pub(super) fn redact(value: Value) -> Value {
    match value {
        Value::Object(map) => redact_object(map),
        Value::Array(items) if names_a_secret(&items) => {
            let name = items.into_iter().next().expect("a pair");
            Value::Array(vec![name, Value::String(REDACTED.to_owned())])
        }
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        Value::String(text) => Value::String(redact_field(Some(text)).expect("some in, some out")),
        other => other,
    }
}

/// `["Authorization", "Bearer …"]`: a pair whose first element names a secret.
fn names_a_secret(items: &[Value]) -> bool {
    matches!(items, [Value::String(name), value] if is_secret_name(name) && !value.is_null())
}

fn redact_object(map: Map<String, Value>) -> Value {
    // A header as HAR and many loggers write it: {"name": "Cookie", "value": "…"}.
    let header_name = (map.get("name").or_else(|| map.get("key")))
        .and_then(Value::as_str)
        .filter(|name| map.len() == 2 && map.contains_key("value") && is_secret_name(name))
        .is_some();
    Value::Object(
        map.into_iter()
            .map(|(key, v)| {
                // `"password_changed": true` says nothing secret; keep flags and nulls.
                let flag = matches!(v, Value::Bool(_) | Value::Null);
                if (is_secret_name(&key) || (header_name && key == "value")) && !flag {
                    (key, Value::String(REDACTED.to_owned()))
                } else {
                    (key, redact(v))
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";

    #[test]
    fn secret_keys_are_redacted_at_any_depth_whatever_their_spelling() {
        let data = json!({
            "Password": "x", "apiKey": "k", "pwd": "p", "X-API-Key": "k2", "private.key": "pk",
            "client_secret": "cs", "JWT": "j", "pass": "p2",
            "nested": {"refresh_TOKEN": "y", "ok": 1}, "list": [{"cookie": "z"}],
            "token_type": "access", "passport": "kept", "compass": "kept", "password_reset": true,
            "pin": 1234
        });
        let r = REDACTED;
        assert_eq!(
            redact(data),
            json!({
                "Password": r, "apiKey": r, "pwd": r, "X-API-Key": r, "private.key": r,
                "client_secret": r, "JWT": r, "pass": r,
                "nested": {"refresh_TOKEN": r, "ok": 1}, "list": [{"cookie": r}],
                "token_type": "access", "passport": "kept", "compass": "kept", "password_reset": true,
                "pin": r
            })
        );
    }

    #[test]
    fn name_value_pairs_count_as_keys() {
        let data = json!({"headers": [["Authorization", "Bearer abc"], ["accept", "*/*"]],
                          "har": [{"name": "Cookie", "value": "sid=1"}, {"name": "Host", "value": "a"}]});
        assert_eq!(
            redact(data),
            json!({"headers": [["Authorization", REDACTED], ["accept", "*/*"]],
                   "har": [{"name": "Cookie", "value": REDACTED}, {"name": "Host", "value": "a"}]})
        );
    }

    /// Input → stored value, one row per rule, and ordinary text that must stay.
    #[test]
    fn credentials_in_text_are_redacted_and_prose_is_not() {
        let key = format!("vigil_{}", "A1b2".repeat(10));
        let table: Vec<(String, String)> = vec![
            (
                "Authorization: Bearer abc.def-123".into(),
                "Authorization: Bearer [REDACTED]".into(),
            ),
            (
                "sent basic dXNlcjpodW50ZXIy".into(),
                "sent basic [REDACTED]".into(),
            ),
            (
                format!("token {JWT} expired"),
                "token [REDACTED] expired".into(),
            ),
            (
                "https://app.example/cb?code=42&access_token=s3cr3t&x=1".into(),
                "https://app.example/cb?code=42&access_token=[REDACTED]&x=1".into(),
            ),
            (
                "retry with password=hunter2".into(),
                "retry with password=[REDACTED]".into(),
            ),
            (
                "apiKey = abc, user=bob".into(),
                "apiKey = [REDACTED], user=bob".into(),
            ),
            (
                format!("leaked {key} here"),
                "leaked [REDACTED] here".into(),
            ),
        ];
        for (input, stored) in table {
            assert_eq!(redact_text(&input), stored, "{input}");
        }
        for prose in [
            "the token expired before the user came back",
            "Bearer tokens are required",
            "Basic authentication failed",
            "user=bob tried page=2",
            "",
        ] {
            assert!(matches!(redact_text(prose), Cow::Borrowed(_)), "{prose}");
        }
        assert_eq!(
            redact(json!({"note": format!("got {JWT}")})),
            json!({"note": "got [REDACTED]"})
        );
    }

    #[test]
    fn fingerprints_are_stable_and_not_the_raw_id() {
        assert_eq!(session_fingerprint("abc"), session_fingerprint("abc"));
        assert_ne!(session_fingerprint("abc"), session_fingerprint("abd"));
        assert_eq!(session_fingerprint("abc").len(), 32);
    }
}
