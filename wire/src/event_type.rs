//! Event types: the 21 seed types with their canonical wire names, seed aliases, and custom types.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The family an event type belongs to; derived from the type, never sent by producers.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Authentication,
    Token,
    Oauth,
    Mfa,
    Password,
    ApiKey,
    Custom,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Authentication => "authentication",
            Category::Token => "token",
            Category::Oauth => "oauth",
            Category::Mfa => "mfa",
            Category::Password => "password",
            Category::ApiKey => "api_key",
            Category::Custom => "custom",
        }
    }
}

/// One known type: its canonical wire value, the seed's `AuthEventType` member name, its category.
pub struct KnownEventType {
    pub canonical: &'static str,
    pub seed_name: &'static str,
    pub category: Category,
}

const fn known(
    canonical: &'static str,
    seed_name: &'static str,
    category: Category,
) -> KnownEventType {
    KnownEventType {
        canonical,
        seed_name,
        category,
    }
}

/// The seed's `AuthEventType` members, in the seed reference's order.
pub const KNOWN_EVENT_TYPES: [KnownEventType; 21] = [
    known(
        "auth.login.success",
        "LOGIN_SUCCESS",
        Category::Authentication,
    ),
    known(
        "auth.login.failure",
        "LOGIN_FAILURE",
        Category::Authentication,
    ),
    known("auth.logout", "LOGOUT", Category::Authentication),
    known("auth.token.issued", "TOKEN_ISSUED", Category::Token),
    known("auth.token.refresh", "TOKEN_REFRESH", Category::Token),
    known("auth.token.revoked", "TOKEN_REVOKED", Category::Token),
    known(
        "auth.token.validation_failed",
        "TOKEN_VALIDATION_FAILED",
        Category::Token,
    ),
    known("auth.oauth.authorize", "OAUTH_AUTHORIZE", Category::Oauth),
    known(
        "auth.oauth.token_exchange",
        "OAUTH_TOKEN_EXCHANGE",
        Category::Oauth,
    ),
    known(
        "auth.oauth.code_generated",
        "OAUTH_CODE_GENERATED",
        Category::Oauth,
    ),
    known(
        "auth.oauth.client_registered",
        "OAUTH_CLIENT_REGISTERED",
        Category::Oauth,
    ),
    known("auth.mfa.enabled", "MFA_ENABLED", Category::Mfa),
    known("auth.mfa.disabled", "MFA_DISABLED", Category::Mfa),
    known(
        "auth.mfa.challenge_success",
        "MFA_CHALLENGE_SUCCESS",
        Category::Mfa,
    ),
    known(
        "auth.mfa.challenge_failure",
        "MFA_CHALLENGE_FAILURE",
        Category::Mfa,
    ),
    known(
        "auth.password.changed",
        "PASSWORD_CHANGED",
        Category::Password,
    ),
    known(
        "auth.password.reset_requested",
        "PASSWORD_RESET_REQUESTED",
        Category::Password,
    ),
    known(
        "auth.password.reset_completed",
        "PASSWORD_RESET_COMPLETED",
        Category::Password,
    ),
    known("auth.api_key.created", "API_KEY_CREATED", Category::ApiKey),
    known("auth.api_key.used", "API_KEY_USED", Category::ApiKey),
    known("auth.api_key.revoked", "API_KEY_REVOKED", Category::ApiKey),
];

/// Longest accepted custom type name; keeps index entries and table cells sane.
pub const MAX_EVENT_TYPE_LEN: usize = 128;

/// A validated event type in canonical form: a seed type, or a lowercase dotted custom name.
/// Producers may also send the seed's member names (`LOGIN_FAILURE`).
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(value_type = String, example = "auth.login.failure")
)]
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventType(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EventTypeError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {MAX_EVENT_TYPE_LEN} characters")]
    TooLong,
    #[error(
        "must be a seed type (e.g. `auth.login.failure` or `LOGIN_FAILURE`) or a lowercase dotted \
         name such as `billing.export.run`"
    )]
    Malformed,
}

impl EventType {
    /// Accepts canonical names, the seed's member names (`LOGIN_FAILURE`, also written
    /// `AuthEventType.LOGIN_FAILURE`), and custom lowercase dotted names; stores them canonically.
    pub fn parse(raw: &str) -> Result<Self, EventTypeError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(EventTypeError::Empty);
        }
        let alias = raw.strip_prefix("AuthEventType.").unwrap_or(raw);
        if let Some(known) = KNOWN_EVENT_TYPES
            .iter()
            .find(|k| k.canonical == raw || k.seed_name == alias)
        {
            return Ok(EventType(known.canonical.to_owned()));
        }
        if raw.len() > MAX_EVENT_TYPE_LEN {
            return Err(EventTypeError::TooLong);
        }
        if is_dotted_lowercase(raw) {
            Ok(EventType(raw.to_owned()))
        } else {
            Err(EventTypeError::Malformed)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn known(&self) -> Option<&'static KnownEventType> {
        KNOWN_EVENT_TYPES.iter().find(|k| k.canonical == self.0)
    }

    pub fn is_known(&self) -> bool {
        self.known().is_some()
    }

    pub fn category(&self) -> Category {
        self.known().map_or(Category::Custom, |k| k.category)
    }

    /// The action a producer would most likely have written: the type without its `auth.`
    /// prefix, dots as underscores (`auth.login.failure` → `login_failure`).
    pub fn default_action(&self) -> String {
        self.0
            .strip_prefix("auth.")
            .unwrap_or(&self.0)
            .replace('.', "_")
    }

    /// Whether the type's name itself says the outcome: `Some(true)` for success names,
    /// `Some(false)` for failure names, `None` when it does not say.
    pub fn implied_success(&self) -> Option<bool> {
        let last = self.0.rsplit(['.', '_']).next().unwrap_or_default();
        match last {
            "success" | "succeeded" => Some(true),
            "failure" | "failed" => Some(false),
            _ => None,
        }
    }
}

fn is_dotted_lowercase(s: &str) -> bool {
    let mut parts = 0;
    for part in s.split('.') {
        let mut chars = part.chars();
        let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        if !starts_with_letter
            || !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return false;
        }
        parts += 1;
    }
    parts >= 2
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for EventType {
    type Error = EventTypeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        EventType::parse(&value)
    }
}

impl From<EventType> for String {
    fn from(value: EventType) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seed_name_maps_to_its_canonical_type() {
        for known in &KNOWN_EVENT_TYPES {
            assert_eq!(
                EventType::parse(known.seed_name).unwrap().as_str(),
                known.canonical
            );
            let qualified = format!("AuthEventType.{}", known.seed_name);
            assert_eq!(
                EventType::parse(&qualified).unwrap().as_str(),
                known.canonical
            );
            assert_eq!(
                EventType::parse(known.canonical).unwrap().category(),
                known.category
            );
        }
    }

    #[test]
    fn custom_types_are_lowercase_dotted_names() {
        assert_eq!(
            EventType::parse("billing.export.run").unwrap().category(),
            Category::Custom
        );
        assert!(EventType::parse("auth.custom.event").is_ok());
        assert_eq!(
            EventType::parse("Billing.Export"),
            Err(EventTypeError::Malformed)
        );
        assert_eq!(EventType::parse("nodots"), Err(EventTypeError::Malformed));
        assert_eq!(EventType::parse("a..b"), Err(EventTypeError::Malformed));
        assert_eq!(EventType::parse(""), Err(EventTypeError::Empty));
        let long = format!("a.{}", "b".repeat(MAX_EVENT_TYPE_LEN));
        assert_eq!(EventType::parse(&long), Err(EventTypeError::TooLong));
    }

    #[test]
    fn defaults_follow_the_type_name() {
        let failure = EventType::parse("LOGIN_FAILURE").unwrap();
        assert_eq!(failure.default_action(), "login_failure");
        assert_eq!(failure.implied_success(), Some(false));
        let validation = EventType::parse("auth.token.validation_failed").unwrap();
        assert_eq!(validation.implied_success(), Some(false));
        let mfa_ok = EventType::parse("auth.mfa.challenge_success").unwrap();
        assert_eq!(mfa_ok.implied_success(), Some(true));
        assert_eq!(
            EventType::parse("auth.logout").unwrap().implied_success(),
            None
        );
    }
}
