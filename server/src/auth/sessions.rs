//! Operator sign-in: argon2 password checks, session cookies, and the guard that keeps the
//! dashboard behind them. Every sign-in attempt is itself an audit event (source `vigil`).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::http::{header, HeaderMap, HeaderValue};
use chrono::{Duration, Utc};

use super::{generate_key, hash_key};
use crate::storage::{OperatorStore, Role, StorageError};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "vigil_session";

/// A signed-in operator, as handlers and pages see them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operator {
    pub username: String,
    pub role: Role,
}

/// Why a sign-in failed; recorded as the failure event's `reason`, never shown in detail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInFailure {
    UnknownUser,
    WrongPassword,
    Disabled,
}

impl SignInFailure {
    pub fn reason(self) -> &'static str {
        match self {
            SignInFailure::UnknownUser => "unknown operator",
            SignInFailure::WrongPassword => "invalid password",
            SignInFailure::Disabled => "operator disabled",
        }
    }
}

pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters accepts any password")
        .to_string()
}

fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// A hash to verify against when the user does not exist, so timing does not reveal usernames.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("vigil-decoy-password"))
}

/// Operator sign-in and sessions over the operator tables.
#[derive(Clone, Debug)]
pub struct Sessions {
    store: OperatorStore,
    lifetime: Duration,
}

impl Sessions {
    pub fn new(store: OperatorStore, lifetime: Duration) -> Self {
        Sessions { store, lifetime }
    }

    /// Checks the password and opens a session: returns the operator and the raw session token.
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Result<(Operator, String), SignInFailure>, StorageError> {
        let Some(record) = self.store.by_username(username).await? else {
            verify_password(password, decoy_hash());
            return Ok(Err(SignInFailure::UnknownUser));
        };
        if !verify_password(password, &record.password_hash) {
            return Ok(Err(SignInFailure::WrongPassword));
        }
        if record.disabled_at.is_some() {
            return Ok(Err(SignInFailure::Disabled));
        }
        let token = generate_key();
        self.store
            .create_session(record.id, &hash_key(&token), Utc::now() + self.lifetime)
            .await?;
        Ok(Ok((
            Operator {
                username: record.username,
                role: record.role,
            },
            token,
        )))
    }

    /// The operator whose session cookie this request carries, if it is still valid.
    pub async fn operator(&self, headers: &HeaderMap) -> Result<Option<Operator>, StorageError> {
        let Some(token) = session_token(headers) else {
            return Ok(None);
        };
        Ok(self
            .store
            .session_operator(&hash_key(&token))
            .await?
            .map(|(username, role)| Operator { username, role }))
    }

    pub async fn sign_out(&self, headers: &HeaderMap) -> Result<(), StorageError> {
        match session_token(headers) {
            Some(token) => self.store.end_session(&hash_key(&token)).await,
            None => Ok(()),
        }
    }

    /// HttpOnly (no script reads it), SameSite=Strict (no cross-site request carries it), Secure
    /// when served over TLS.
    pub fn cookie(&self, token: &str, over_tls: bool) -> HeaderValue {
        let secure = if over_tls { "; Secure" } else { "" };
        let max_age = self.lifetime.num_seconds();
        HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
        ))
        .expect("tokens are alphanumeric")
    }

    pub fn clearing_cookie(&self) -> HeaderValue {
        HeaderValue::from_static("vigil_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
    }
}

/// The session token from the `Cookie` header.
fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_salt_and_verify() {
        let a = hash_password("correct horse");
        assert_ne!(a, hash_password("correct horse"), "salted");
        assert!(verify_password("correct horse", &a));
        assert!(!verify_password("wrong", &a));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; vigil_session=tok123; b=2"),
        );
        assert_eq!(session_token(&headers).as_deref(), Some("tok123"));
        headers.insert(header::COOKIE, HeaderValue::from_static("vigil_session="));
        assert_eq!(session_token(&headers), None);
    }
}
