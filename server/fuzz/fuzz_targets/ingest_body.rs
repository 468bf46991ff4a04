//! The ingest body parser: any bytes, as JSON or NDJSON, must give events or a client error.
#![no_main]

use axum::http::{header, HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the content type, the rest is the body.
    let Some((kind, body)) = data.split_first() else {
        return;
    };
    let content_type = if kind % 2 == 0 { "application/json" } else { "application/x-ndjson" };
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Err(err) = vigil_server::http::parse_body(&headers, body, "fuzz") {
        assert!(err.status().is_client_error(), "{err}");
    }
});
