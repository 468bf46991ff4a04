//! The HTTP boundary's error: every client error says what and which field; internal failures are
//! logged and shown to the client only as a plain 500 or 503.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use vigil_wire::{ErrorBody, FieldError, MAX_EVENTS_PER_REQUEST};

use crate::ingest::WriteError;
use crate::storage::{KeyKind, StorageError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("malformed JSON at line {line}, column {column}: {message}")]
    MalformedJson {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("the body could not be read: {0}")]
    BadBody(String),
    #[error("the request body stopped arriving; nothing was stored")]
    BodyTimeout,
    #[error("expected an event object, a non-empty JSON array of events, or NDJSON lines")]
    NotEvents,
    #[error("at most {max} events per request")]
    TooManyEvents { max: usize },
    #[error("the request body is larger than this server accepts")]
    PayloadTooLarge,
    #[error("one or more events are invalid; nothing was stored")]
    InvalidEvents(Vec<FieldError>),
    /// Another producer's `event_id`: refused without a word about that event.
    #[error("an event_id is already used by another producer; nothing was stored")]
    EventIdTaken(Vec<FieldError>),
    #[error("unsupported content type `{0}`: send application/json or application/x-ndjson")]
    UnsupportedMediaType(String),
    #[error("invalid parameter `{param}`: {reason}")]
    InvalidParameter { param: String, reason: String },
    #[error("missing `Authorization: Bearer <key>` header (or, for reading, a dashboard session)")]
    MissingCredentials,
    #[error("the Authorization header must be `Bearer <key>`")]
    MalformedAuthorization,
    #[error("unknown or revoked key")]
    UnknownKey,
    /// A valid key of the other kind: `expected` names the kind this route needs.
    #[error("{}", wrong_kind_message(*.expected))]
    WrongKeyKind { expected: KeyKind },
    /// A request with the operator's authority from a page that is not Vigil's.
    #[error("cross-origin request refused: {0}")]
    CrossOrigin(String),
    #[error("no such event")]
    NotFound,
    #[error("no such alert")]
    NoSuchAlert,
    /// A change only a signed-in operator may make, asked with a key.
    #[error("only a signed-in operator may do this (from the dashboard, with its session)")]
    OperatorsOnly,
    /// An alert asked to move where its status cannot go.
    #[error("{0}")]
    StatusConflict(String),
    /// A proof was asked for an event no signed checkpoint covers yet.
    #[error("no signed checkpoint covers seq {0} yet; one is signed every few minutes")]
    NotYetSigned(i64),
    #[error("as many exports as this server runs at once are running; retry shortly")]
    TooManyExports,
    #[error("ingest is saturated; retry shortly")]
    Busy,
    #[error("the database is unavailable; retry shortly")]
    Unavailable,
    #[error("internal error")]
    Internal(String),
}

fn wrong_kind_message(expected: KeyKind) -> &'static str {
    match expected {
        KeyKind::Ingest => "this key may not post events; use an ingest key",
        KeyKind::Read => "this key may not read events; use a read key (vigil keys create --read)",
    }
}

impl ApiError {
    /// A `422` naming the query or path parameter `param` and why it was refused.
    pub fn invalid(param: &str, reason: impl Into<String>) -> Self {
        ApiError::InvalidParameter {
            param: param.to_owned(),
            reason: reason.into(),
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        self.status_and_code().0
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::MalformedJson { .. } => (StatusCode::BAD_REQUEST, "malformed_json"),
            ApiError::BadBody(_) => (StatusCode::BAD_REQUEST, "bad_body"),
            ApiError::BodyTimeout => (StatusCode::REQUEST_TIMEOUT, "body_timeout"),
            ApiError::NotEvents => (StatusCode::UNPROCESSABLE_ENTITY, "not_events"),
            ApiError::TooManyEvents { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too_many_events"),
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::InvalidEvents(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_events"),
            ApiError::EventIdTaken(_) => (StatusCode::CONFLICT, "event_id_taken"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::InvalidParameter { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_parameter")
            }
            ApiError::MissingCredentials
            | ApiError::MalformedAuthorization
            | ApiError::UnknownKey => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::WrongKeyKind { .. } => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::CrossOrigin(_) => (StatusCode::FORBIDDEN, "cross_origin"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::NoSuchAlert => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::OperatorsOnly => (StatusCode::FORBIDDEN, "operators_only"),
            ApiError::StatusConflict(_) => (StatusCode::CONFLICT, "status_conflict"),
            ApiError::NotYetSigned(_) => (StatusCode::CONFLICT, "not_yet_signed"),
            ApiError::TooManyExports => (StatusCode::TOO_MANY_REQUESTS, "too_many_exports"),
            ApiError::Busy => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            ApiError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

/// The error code a response carries, for the metrics to count refusals by.
#[derive(Clone, Copy, Debug)]
pub struct ErrorCode(pub &'static str);

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::Unavailable(_) => ApiError::Unavailable,
            StorageError::Other(e) => ApiError::Internal(e.to_string()),
            StorageError::NotOwner => ApiError::Internal(StorageError::NotOwner.to_string()),
        }
    }
}

impl From<WriteError> for ApiError {
    fn from(err: WriteError) -> Self {
        match err {
            WriteError::QueueFull => ApiError::Busy,
            WriteError::IdTaken(indexes) => ApiError::EventIdTaken(
                (indexes.into_iter())
                    .map(|i| FieldError::new("event_id", "already used; choose a new one").at(i))
                    .collect(),
            ),
            WriteError::Stopped => ApiError::Internal("the event writer stopped".to_owned()),
            WriteError::Storage(e) => e.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        match &self {
            ApiError::Internal(detail) => tracing::error!(%detail, "internal error"),
            ApiError::Unavailable => tracing::warn!("database unavailable"),
            _ => {}
        }
        let message = self.to_string();
        let details = match self {
            ApiError::InvalidEvents(fields) | ApiError::EventIdTaken(fields) => Some(fields),
            _ => None,
        };
        let body = ErrorBody {
            error: code.to_owned(),
            message,
            details,
        };
        let mut response = (status, Json(body)).into_response();
        response.extensions_mut().insert(ErrorCode(code));
        let headers = response.headers_mut();
        if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

// Keeps the documented limit and the error message in one place.
const _: () = assert!(MAX_EVENTS_PER_REQUEST == 1_000);
