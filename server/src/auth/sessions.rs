//! Operator sign-in: argon2 password checks, session cookies, and the guard that keeps the
//! dashboard behind them. Every sign-in attempt is itself an audit event (source `vigil`).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::http::{header, HeaderMap, HeaderValue};
use chrono::{Duration, Utc};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Semaphore;

use super::throttle::{SignInThrottle, ThrottleLimits, Throttled};
use super::{generate_key, hash_key};
use crate::storage::{OperatorStore, Role, StorageError};

/// Name of the session cookie over plain HTTP.
pub const SESSION_COOKIE: &str = "vigil_session";
/// Its name over HTTPS: browsers accept a `__Host-` cookie only if it is `Secure`, for the whole
/// site and set by this host, so a sibling subdomain cannot plant or overwrite it.
pub const SECURE_SESSION_COOKIE: &str = "__Host-vigil_session";

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
    /// Refused before hashing: too many attempts (counted into a burst, audited once).
    Throttled(Throttled),
    /// Refused before hashing: more sign-ins are waiting for a hasher than `MAX_WAITING`.
    Overloaded,
}

impl SignInFailure {
    pub fn reason(self) -> &'static str {
        match self {
            SignInFailure::UnknownUser => "unknown operator",
            SignInFailure::WrongPassword => "invalid password",
            SignInFailure::Disabled => "operator disabled",
            SignInFailure::Throttled(_) => "too many sign-in attempts",
            SignInFailure::Overloaded => "too many sign-ins at once",
        }
    }

    /// Whether a password was checked: only then is the attempt an audit event of its own.
    pub fn was_checked(self) -> bool {
        !matches!(
            self,
            SignInFailure::Throttled(_) | SignInFailure::Overloaded
        )
    }
}

/// Sign-ins waiting for a hasher beyond which new ones are refused at once.
const MAX_WAITING: usize = 64;

/// Argon2 runs on the blocking pool, at most half the CPUs at a time, so a flood of sign-ins
/// never holds up the async workers that serve ingest, reads and streams.
#[derive(Debug)]
struct Hashers {
    permits: Semaphore,
    waiting: AtomicUsize,
}

impl Hashers {
    fn new() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Hashers {
            permits: Semaphore::new((cpus / 2).max(1)),
            waiting: AtomicUsize::new(0),
        }
    }

    /// None when too many are already waiting.
    /// Checks `password` against `stored`, or against the decoy hash when there is no such
    /// operator (made on first use, here on the blocking pool too).
    async fn verify(&self, password: &str, stored: Option<String>) -> Option<bool> {
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= MAX_WAITING {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        let permit = self.permits.acquire().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let _permit = permit.expect("the semaphore is never closed");
        let password = password.to_owned();
        let checked = tokio::task::spawn_blocking(move || match stored {
            Some(stored) => verify_password(&password, &stored),
            None => verify_password(&password, decoy_hash()),
        });
        Some(checked.await.unwrap_or(false))
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
    over_tls: bool,
    throttle: Arc<SignInThrottle>,
    hashers: Arc<Hashers>,
}

impl Sessions {
    /// `over_tls`: Vigil's public URL is `https`, so the cookie is `Secure` and `__Host-`.
    pub fn new(
        store: OperatorStore,
        lifetime: Duration,
        over_tls: bool,
        limits: ThrottleLimits,
    ) -> Self {
        Sessions {
            store,
            lifetime,
            over_tls,
            throttle: Arc::new(SignInThrottle::new(limits)),
            hashers: Arc::new(Hashers::new()),
        }
    }

    /// The sign-in throttle, whose bursts of refusals the audit trail records.
    pub fn throttle(&self) -> &SignInThrottle {
        &self.throttle
    }

    fn cookie_name(&self) -> &'static str {
        if self.over_tls {
            SECURE_SESSION_COOKIE
        } else {
            SESSION_COOKIE
        }
    }

    /// Whether the request carries a session cookie at all (valid or not): such a request
    /// speaks with the operator's authority, so it must come from Vigil's own pages.
    pub fn carries_cookie(&self, headers: &HeaderMap) -> bool {
        session_token(headers, self.cookie_name()).is_some()
    }

    /// Checks the password of a sign-in from `client` and opens a session: returns the operator
    /// and the raw session token. Throttled attempts are refused before anything is looked up.
    pub async fn sign_in(
        &self,
        client: IpAddr,
        username: &str,
        password: &str,
    ) -> Result<Result<(Operator, String), SignInFailure>, StorageError> {
        if let Err(throttled) = self.throttle.admit(client, username) {
            return Ok(Err(SignInFailure::Throttled(throttled)));
        }
        let record = self.store.by_username(username).await?;
        let stored = record.as_ref().map(|r| r.password_hash.clone());
        let Some(matches) = self.hashers.verify(password, stored).await else {
            return Ok(Err(SignInFailure::Overloaded));
        };
        let Some(record) = record else {
            return Ok(Err(SignInFailure::UnknownUser));
        };
        if !matches {
            return Ok(Err(SignInFailure::WrongPassword));
        }
        if record.disabled_at.is_some() {
            return Ok(Err(SignInFailure::Disabled));
        }
        self.throttle.succeeded(client, username);
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
        Ok(self.signed_in(headers).await?.map(|(operator, _)| operator))
    }

    /// The operator and their raw session token, if the request's session is still valid.
    pub async fn signed_in(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<(Operator, String)>, StorageError> {
        let Some(token) = session_token(headers, self.cookie_name()) else {
            return Ok(None);
        };
        Ok(self
            .by_token(&token)
            .await?
            .map(|operator| (operator, token)))
    }

    /// The operator a session token belongs to, while the session lasts and the operator is
    /// enabled.
    pub async fn by_token(&self, token: &str) -> Result<Option<Operator>, StorageError> {
        Ok(self
            .store
            .session_operator(&hash_key(token))
            .await?
            .map(|(username, role)| Operator { username, role }))
    }

    pub async fn sign_out(&self, headers: &HeaderMap) -> Result<(), StorageError> {
        match session_token(headers, self.cookie_name()) {
            Some(token) => self.store.end_session(&hash_key(&token)).await,
            None => Ok(()),
        }
    }

    /// HttpOnly (no script reads it), SameSite=Strict (no cross-site request carries it), Secure
    /// when Vigil's public URL is `https`.
    pub fn cookie(&self, token: &str) -> HeaderValue {
        self.set_cookie(token, self.lifetime.num_seconds())
    }

    pub fn clearing_cookie(&self) -> HeaderValue {
        self.set_cookie("", 0)
    }

    fn set_cookie(&self, token: &str, max_age: i64) -> HeaderValue {
        let name = self.cookie_name();
        let secure = if self.over_tls { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{name}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
        ))
        .expect("tokens are alphanumeric")
    }
}

/// The session token from the `Cookie` header.
fn session_token(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(cookie, _)| *cookie == name)
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
        assert_eq!(
            session_token(&headers, SESSION_COOKIE).as_deref(),
            Some("tok123")
        );
        assert_eq!(session_token(&headers, SECURE_SESSION_COOKIE), None);
        headers.insert(header::COOKIE, HeaderValue::from_static("vigil_session="));
        assert_eq!(session_token(&headers, SESSION_COOKIE), None);
    }
}
