//! `Authorization: Bearer <key>` extractors: ingest keys post events, read keys query them.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::{ApiKeys, Sessions};
use crate::storage::{KeyKind, StorageError};

/// A request carrying an active ingest key; `name` is recorded as each event's `source`.
#[derive(Debug, Clone)]
pub struct IngestKey {
    pub name: String,
}

#[derive(Debug)]
pub enum KeyRejection {
    Missing,
    Malformed,
    Unknown,
    /// A valid key of the other kind: `expected` names the kind this route needs.
    WrongKind {
        expected: KeyKind,
    },
    Storage(StorageError),
}

impl IntoResponse for KeyRejection {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            KeyRejection::Storage(err) => return crate::error::ApiError::from(err).into_response(),
            KeyRejection::Missing => (
                StatusCode::UNAUTHORIZED,
                "missing `Authorization: Bearer <key>` header (or, for reading, a dashboard session)",
            ),
            KeyRejection::Malformed => (
                StatusCode::UNAUTHORIZED,
                "the Authorization header must be `Bearer <key>`",
            ),
            KeyRejection::Unknown => (StatusCode::UNAUTHORIZED, "unknown or revoked key"),
            KeyRejection::WrongKind {
                expected: KeyKind::Ingest,
            } => (
                StatusCode::FORBIDDEN,
                "this key may not post events; use an ingest key",
            ),
            KeyRejection::WrongKind {
                expected: KeyKind::Read,
            } => (
                StatusCode::FORBIDDEN,
                "this key may not read events; use a read key (vigil keys create --read)",
            ),
        };
        let code = if status == StatusCode::FORBIDDEN {
            "forbidden"
        } else {
            "unauthorized"
        };
        let mut response = (
            status,
            Json(serde_json::json!({"error": code, "message": message})),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// The key in an `Authorization: Bearer` header, if the header is there.
fn bearer(parts: &Parts) -> Result<&str, KeyRejection> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or(KeyRejection::Missing)?;
    let value = value.to_str().map_err(|_| KeyRejection::Malformed)?;
    let (scheme, key) = value.split_once(' ').ok_or(KeyRejection::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || key.trim().is_empty() {
        return Err(KeyRejection::Malformed);
    }
    Ok(key.trim())
}

/// The active key in the request, of the kind a route needs.
async fn require_key<S>(parts: &Parts, state: &S, expected: KeyKind) -> Result<String, KeyRejection>
where
    ApiKeys: FromRef<S>,
{
    let presented = bearer(parts)?;
    let key = ApiKeys::from_ref(state)
        .authenticate(presented)
        .await
        .map_err(KeyRejection::Storage)?
        .ok_or(KeyRejection::Unknown)?;
    if key.kind == expected {
        Ok(key.name)
    } else {
        Err(KeyRejection::WrongKind { expected })
    }
}

impl<S> FromRequestParts<S> for IngestKey
where
    ApiKeys: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = KeyRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(IngestKey {
            name: require_key(parts, state, KeyKind::Ingest).await?,
        })
    }
}

/// A request allowed to read events: a read key, or a signed-in operator's session cookie.
#[derive(Debug, Clone)]
pub struct ReadAccess {
    /// The key's name or the operator's username.
    pub name: String,
}

impl<S> FromRequestParts<S> for ReadAccess
where
    ApiKeys: FromRef<S>,
    Sessions: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = KeyRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(ReadAccess {
                name: require_key(parts, state, KeyKind::Read).await?,
            });
        }
        match Sessions::from_ref(state).operator(&parts.headers).await {
            Ok(Some(operator)) => Ok(ReadAccess {
                name: operator.username,
            }),
            Ok(None) => Err(KeyRejection::Missing),
            Err(err) => Err(KeyRejection::Storage(err)),
        }
    }
}
