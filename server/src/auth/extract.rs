//! The `Authorization: Bearer <key>` extractor for the ingest door.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::ApiKeys;
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
    WrongKind,
    Storage(StorageError),
}

impl IntoResponse for KeyRejection {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            KeyRejection::Storage(err) => return crate::error::ApiError::from(err).into_response(),
            KeyRejection::Missing => (
                StatusCode::UNAUTHORIZED,
                "missing `Authorization: Bearer <key>` header",
            ),
            KeyRejection::Malformed => (
                StatusCode::UNAUTHORIZED,
                "the Authorization header must be `Bearer <key>`",
            ),
            KeyRejection::Unknown => (StatusCode::UNAUTHORIZED, "unknown or revoked key"),
            KeyRejection::WrongKind => (
                StatusCode::FORBIDDEN,
                "this key may not post events; use an ingest key",
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

impl<S> FromRequestParts<S> for IngestKey
where
    ApiKeys: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = KeyRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let presented = bearer(parts)?;
        let keys = ApiKeys::from_ref(state);
        let key = keys
            .authenticate(presented)
            .await
            .map_err(KeyRejection::Storage)?
            .ok_or(KeyRejection::Unknown)?;
        match key.kind {
            KeyKind::Ingest => Ok(IngestKey { name: key.name }),
            KeyKind::Read => Err(KeyRejection::WrongKind),
        }
    }
}
