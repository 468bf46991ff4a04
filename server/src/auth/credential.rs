//! What a reader proved who they are with. A request is checked once; a stream lives for hours,
//! so it re-checks its credential and ends when the key is revoked or the session is over.

use super::{ApiKeys, Sessions};
use crate::storage::{KeyKind, StorageError};

#[derive(Clone)]
pub enum Credential {
    /// A read key, as presented.
    Key(String),
    /// A dashboard session's raw token (from the cookie).
    Session(String),
}

/// Keys and tokens are secrets: never in a log line.
impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Credential::Key(_) => "Credential::Key(..)",
            Credential::Session(_) => "Credential::Session(..)",
        })
    }
}

impl Credential {
    pub fn is_session(&self) -> bool {
        matches!(self, Credential::Session(_))
    }

    /// Why it no longer admits its holder, if it does not.
    pub async fn revoked(
        &self,
        keys: &ApiKeys,
        sessions: &Sessions,
    ) -> Result<Option<&'static str>, StorageError> {
        Ok(match self {
            Credential::Key(key) => match keys.authenticate(key).await? {
                Some(active) if active.kind == KeyKind::Read => None,
                _ => Some("the read key was revoked"),
            },
            Credential::Session(token) => match sessions.by_token(token).await? {
                Some(_) => None,
                None => Some("the session ended (signed out, expired or disabled)"),
            },
        })
    }
}
