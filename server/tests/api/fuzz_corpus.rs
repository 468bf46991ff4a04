//! The fuzz targets' corpora (`server/fuzz/corpus`), replayed through the same entry points the
//! targets call (issue 17, item 12): every input gives a result or a client error, never a panic
//! or a server error. `server/fuzz/README.md` has the command that grows the corpora.

use axum::http::{header, HeaderMap, HeaderValue};
use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    inputs.sort();
    assert!(inputs.len() >= 10, "the {target} corpus is checked in");
    inputs
}

#[test]
fn the_ingest_body_corpus_gives_events_or_client_errors() {
    let mut accepted = 0;
    for (name, data) in corpus("ingest_body") {
        // As the target reads it: the first byte picks the content type.
        let Some((kind, body)) = data.split_first() else {
            continue;
        };
        let content_type = if kind % 2 == 0 {
            "application/json"
        } else {
            "application/x-ndjson"
        };
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        match std::panic::catch_unwind(|| vigil_server::http::parse_body(&headers, body, "fuzz")) {
            Ok(Ok(_)) => accepted += 1,
            Ok(Err(err)) => assert!(err.status().is_client_error(), "{name}: {err}"),
            Err(_) => panic!("{name} panicked the parser"),
        }
    }
    assert!(accepted >= 2, "the valid seeds parse");
}

#[test]
fn the_read_query_corpus_parses_or_names_a_parameter() {
    let mut refused = 0;
    for (name, data) in corpus("read_query") {
        let Ok(query) = std::str::from_utf8(&data) else {
            continue;
        };
        match std::panic::catch_unwind(|| vigil_server::http::parse_queries(query)) {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                assert_eq!(err.status(), 422, "{name}: {err}");
                refused += 1;
            }
            Err(_) => panic!("{name} panicked the parser"),
        }
    }
    assert!(refused >= 5, "the hostile seeds are refused");
}
