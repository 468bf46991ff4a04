//! What the dashboard's administration accepts, parsed once at the door of its server functions
//! into values that can only be valid (the database's functions check the same limits again,
//! migrations/0012_administration.sql). Every refusal names the form field and says why.

use serde::{Deserialize, Serialize};

/// Longest key name or username, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Shortest password an operator may be given (the CLI's `vigil users create` asks the same).
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password: argon2 takes any length, but hashing a megabyte per request is a chore
/// the server need not do.
pub const MAX_PASSWORD_CHARS: usize = 1024;
/// The key name that marks Vigil's own events (`source = vigil`): never a producer's.
pub const RESERVED_KEY_NAME: &str = "vigil";

/// A refusal naming its field: "`name`: must be 1 to 64 characters (this one has 70)".
pub type FieldRefusal = String;

/// A key name or username: trimmed, 1 to 64 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldRefusal> {
        let name = raw.trim();
        let chars = name.chars().count();
        if chars == 0 || chars > MAX_NAME_CHARS {
            return Err(format!(
                "`{field}`: must be 1 to {MAX_NAME_CHARS} characters (this one has {chars})"
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(format!("`{field}`: must not hold control characters"));
        }
        Ok(Name(name.to_owned()))
    }

    /// A new key's name: also never the reserved `vigil`, in any case.
    pub fn parse_key_name(field: &str, raw: &str) -> Result<Self, FieldRefusal> {
        let name = Name::parse(field, raw)?;
        // A key's name is its events' `source`: plain characters only, so no key can pass for
        // `vigil` with an invisible or look-alike letter.
        let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if !name.0.chars().all(plain) {
            return Err(format!(
                "`{field}`: may hold only letters, digits, `.`, `_` and `-` (a source must read plainly)"
            ));
        }
        if name.0.eq_ignore_ascii_case(RESERVED_KEY_NAME) {
            return Err(format!(
                "`{field}`: `{RESERVED_KEY_NAME}` is reserved for Vigil's own events"
            ));
        }
        Ok(name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A password as typed (never trimmed: spaces are characters), 8 to 1024 characters.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldRefusal> {
        let chars = raw.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(format!(
                "`{field}`: must be at least {MIN_PASSWORD_CHARS} characters (this one has {chars})"
            ));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(format!(
                "`{field}`: must be at most {MAX_PASSWORD_CHARS} characters (this one has {chars})"
            ));
        }
        Ok(Password(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Passwords never reach a log line.
impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

/// What a new key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NewKeyKind {
    Ingest,
    Read,
}

impl NewKeyKind {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldRefusal> {
        match raw {
            "ingest" => Ok(NewKeyKind::Ingest),
            "read" => Ok(NewKeyKind::Read),
            _ => Err(format!("`{field}`: must be ingest or read")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NewKeyKind::Ingest => "ingest",
            NewKeyKind::Read => "read",
        }
    }
}

/// What a new operator may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OperatorRole {
    Viewer,
    Admin,
}

impl OperatorRole {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldRefusal> {
        match raw {
            "viewer" => Ok(OperatorRole::Viewer),
            "admin" => Ok(OperatorRole::Admin),
            _ => Err(format!("`{field}`: must be viewer or admin")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OperatorRole::Viewer => "viewer",
            OperatorRole::Admin => "admin",
        }
    }
}

/// A key just made: the only time its secret leaves the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedKey {
    pub name: String,
    pub kind: NewKeyKind,
    pub key: String,
}

/// Who is signed in, as the page's top bar and the account page show them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInOperator {
    pub username: String,
    pub admin: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded_in_characters() {
        assert_eq!(Name::parse("name", "  ci-bot ").unwrap().as_str(), "ci-bot");
        assert_eq!(
            Name::parse("name", "   ").unwrap_err(),
            "`name`: must be 1 to 64 characters (this one has 0)"
        );
        let longest = "é".repeat(MAX_NAME_CHARS);
        assert!(
            Name::parse("username", &longest).is_ok(),
            "characters, not bytes"
        );
        assert_eq!(
            Name::parse("username", &format!("{longest}x")).unwrap_err(),
            "`username`: must be 1 to 64 characters (this one has 65)"
        );
        assert!(Name::parse("name", "a\tb").unwrap_err().contains("control"));
    }

    #[test]
    fn the_reserved_key_name_is_refused_in_any_case() {
        for reserved in ["vigil", "VIGIL", " Vigil "] {
            assert_eq!(
                Name::parse_key_name("name", reserved).unwrap_err(),
                "`name`: `vigil` is reserved for Vigil's own events"
            );
        }
        assert!(Name::parse_key_name("name", "vigil-2").is_ok());
        for look_alike in ["vigil\u{200B}", "vіgil", "my key"] {
            assert!(
                Name::parse_key_name("name", look_alike).is_err(),
                "{look_alike}"
            );
        }
        assert!(
            Name::parse("username", "vigil").is_ok(),
            "only keys reserve it"
        );
    }

    #[test]
    fn passwords_are_bounded_and_kept_as_typed() {
        assert_eq!(
            Password::parse("password", "short").unwrap_err(),
            "`password`: must be at least 8 characters (this one has 5)"
        );
        assert_eq!(
            Password::parse("password", " 8 chars").unwrap().expose(),
            " 8 chars"
        );
        assert!(Password::parse("new_password", &"x".repeat(MAX_PASSWORD_CHARS)).is_ok());
        assert_eq!(
            Password::parse("new_password", &"x".repeat(MAX_PASSWORD_CHARS + 1)).unwrap_err(),
            "`new_password`: must be at most 1024 characters (this one has 1025)"
        );
        assert_eq!(
            format!("{:?}", Password::parse("p", "secret-password").unwrap()),
            "Password(..)"
        );
    }

    #[test]
    fn kinds_and_roles_are_one_of_two() {
        assert_eq!(NewKeyKind::parse("kind", "read"), Ok(NewKeyKind::Read));
        assert_eq!(
            NewKeyKind::parse("kind", "admin").unwrap_err(),
            "`kind`: must be ingest or read"
        );
        assert_eq!(
            OperatorRole::parse("role", "admin"),
            Ok(OperatorRole::Admin)
        );
        assert_eq!(
            OperatorRole::parse("role", "root").unwrap_err(),
            "`role`: must be viewer or admin"
        );
    }
}
