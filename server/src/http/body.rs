//! Reading a request body into JSON values: one object, an array of objects, or NDJSON lines.

use axum::http::{header, HeaderMap};
use serde_json::Value;

use vigil_wire::MAX_EVENTS_PER_REQUEST;

use super::ApiError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BodyFormat {
    Json,
    Ndjson,
}

fn body_format(headers: &HeaderMap) -> Result<BodyFormat, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Ok(BodyFormat::Json),
        "application/x-ndjson" | "application/ndjson" | "application/jsonl" => {
            Ok(BodyFormat::Ndjson)
        }
        _ => Err(ApiError::UnsupportedMediaType(content_type.to_owned())),
    }
}

/// The posted events as JSON values, each still to be validated.
pub fn decode_events(headers: &HeaderMap, body: &[u8]) -> Result<Vec<Value>, ApiError> {
    let events = match body_format(headers)? {
        BodyFormat::Json => match parse_json(body, 0)? {
            Value::Array(items) => items,
            object @ Value::Object(_) => vec![object],
            _ => return Err(ApiError::NotEvents),
        },
        BodyFormat::Ndjson => {
            let mut items = Vec::new();
            for (number, line) in body.split(|b| *b == b'\n').enumerate() {
                if !line.iter().all(u8::is_ascii_whitespace) {
                    items.push(parse_json(line, number)?);
                }
                if items.len() > MAX_EVENTS_PER_REQUEST {
                    break;
                }
            }
            items
        }
    };
    if events.is_empty() {
        return Err(ApiError::NotEvents);
    }
    if events.len() > MAX_EVENTS_PER_REQUEST {
        return Err(ApiError::TooManyEvents {
            max: MAX_EVENTS_PER_REQUEST,
        });
    }
    Ok(events)
}

/// `line_offset` turns an NDJSON line's own line 1 into its line in the body.
fn parse_json(bytes: &[u8], line_offset: usize) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::MalformedJson {
        line: e.line() + line_offset,
        column: e.column(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
        h
    }

    #[test]
    fn object_array_and_ndjson_all_decode() {
        let json = headers("application/json; charset=utf-8");
        assert_eq!(decode_events(&json, br#"{"a":1}"#).unwrap().len(), 1);
        assert_eq!(
            decode_events(&json, br#"[{"a":1},{"a":2}]"#).unwrap().len(),
            2
        );
        let ndjson = headers("application/x-ndjson");
        assert_eq!(
            decode_events(&ndjson, b"{\"a\":1}\n\n{\"a\":2}\n")
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn ndjson_errors_name_the_body_line() {
        let err =
            decode_events(&headers("application/x-ndjson"), b"{\"a\":1}\n{oops}\n").unwrap_err();
        assert!(
            matches!(err, ApiError::MalformedJson { line: 2, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn wrong_shapes_and_sizes_are_refused() {
        let json = headers("application/json");
        assert!(matches!(
            decode_events(&json, b"[]"),
            Err(ApiError::NotEvents)
        ));
        assert!(matches!(
            decode_events(&json, b"42"),
            Err(ApiError::NotEvents)
        ));
        let many = format!("[{}]", vec!["{}"; MAX_EVENTS_PER_REQUEST + 1].join(","));
        assert!(matches!(
            decode_events(&json, many.as_bytes()),
            Err(ApiError::TooManyEvents { .. })
        ));
        assert!(matches!(
            decode_events(&headers("text/plain"), b"{}"),
            Err(ApiError::UnsupportedMediaType(_))
        ));
    }
}
