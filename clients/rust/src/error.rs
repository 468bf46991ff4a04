//! What can go wrong when sending events, split by what the caller should do about it.

use vigil_wire::{ErrorBody, FieldError};

/// Why events were not stored. Only `Unavailable` is worth trying again later: everything else
/// needs a change to the event, the key or the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server refused the request with a 4xx. Never retried: sending the same request again
    /// would be refused again. Nothing was stored (ingest is all or nothing).
    #[error("vigil refused the events ({status} {code}): {message}")]
    Rejected {
        /// HTTP status, e.g. 401, 413 or 422.
        status: u16,
        /// The server's stable error code, e.g. `invalid_events` or `unauthorized`.
        code: String,
        /// The server's message, for people.
        message: String,
        /// For `invalid_events`: every bad field of every event, by index.
        details: Vec<FieldError>,
    },
    /// Every attempt failed with a timeout, a dropped connection, a 5xx or a 503/429; the
    /// events may or may not be stored, and sending them again (same `event_id`) is safe.
    #[error("vigil unavailable after {attempts} attempt(s): {message}")]
    Unavailable {
        attempts: u32,
        /// Status of the last answer, if the last attempt got one.
        last_status: Option<u16>,
        /// The last answer's message or the last transport error.
        message: String,
    },
    /// The event could not be built (an unknown event type, `event_data` that is not an object,
    /// a batch outside 1..=1000); nothing was sent.
    #[error("invalid event: {field}: {reason}")]
    InvalidEvent { field: String, reason: String },
    /// The client is misconfigured (a base URL that does not parse, an unusable key).
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// The server answered with something that is not Vigil's API (a 2xx with another body, a
    /// redirect): probably the wrong base URL or a proxy in the way. Not retried.
    #[error("unexpected answer from {url} (status {status}): {message}")]
    UnexpectedResponse {
        url: String,
        status: u16,
        message: String,
    },
}

impl ClientError {
    pub(crate) fn invalid(field: &str, reason: impl std::fmt::Display) -> Self {
        ClientError::InvalidEvent {
            field: field.to_owned(),
            reason: reason.to_string(),
        }
    }

    /// The HTTP status of the server's answer, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Rejected { status, .. } => Some(*status),
            ClientError::Unavailable { last_status, .. } => *last_status,
            ClientError::UnexpectedResponse { status, .. } => Some(*status),
            ClientError::InvalidEvent { .. } | ClientError::Config(_) => None,
        }
    }

    /// Whether sending the same events again later could succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, ClientError::Unavailable { .. })
    }
}

/// Reads the server's error body (`{"error": code, "message": …, "details": [...]}`), keeping
/// the raw text as the message when it is not Vigil's JSON (a proxy's HTML page, say).
pub(crate) fn parse_error_body(status: u16, text: &str) -> ErrorBody {
    match serde_json::from_str::<ErrorBody>(text) {
        Ok(body) if !body.error.is_empty() => body,
        _ => ErrorBody {
            error: format!("http_{status}"),
            message: text.chars().take(512).collect(),
            details: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vigil_error_bodies_and_keeps_foreign_ones_as_text() {
        let body = parse_error_body(
            422,
            r#"{"error":"invalid_events","message":"bad","details":[{"index":1,"field":"ip_address","reason":"must be an IPv4 or IPv6 address"}]}"#,
        );
        assert_eq!(body.error, "invalid_events");
        assert_eq!(body.details.unwrap()[0].index, 1);
        let foreign = parse_error_body(502, "<html>Bad gateway</html>");
        assert_eq!(foreign.error, "http_502");
        assert_eq!(foreign.message, "<html>Bad gateway</html>");
    }
}
