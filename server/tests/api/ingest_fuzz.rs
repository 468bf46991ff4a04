//! Property test: whatever a client sends to ingest, the answer is never a 5xx and never a panic.
//! Bodies mix the real field names with random values, shapes, encodings and content types.

use crate::common;

use common::TestApp;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value};

const FIELDS: [&str; 24] = [
    "event_type",
    "event_id",
    "action",
    "action_result",
    "severity",
    "user_id",
    "username",
    "ip_address",
    "user_agent",
    "session_id",
    "mfa_used",
    "reason",
    "error_message",
    "token_type",
    "expires_at",
    "client_id",
    "scope",
    "forced",
    "api_key_id",
    "api_key_name",
    "event_data",
    "occurred_at",
    "unknown_field",
    "",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        Just(Value::String("nul\u{0}inside".to_owned())),
        prop_oneof![
            Just("auth.login.failure"),
            Just("LOGIN_SUCCESS"),
            Just("10.0.0.1"),
            Just("::1"),
            Just("2026-01-01T00:00:00Z"),
            Just("success"),
            Just("critical"),
            Just("0190f9b0-0000-7000-8000-000000000000"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(&FIELDS[..]), inner), 0..8).prop_map(
                |pairs| Value::Object(
                    pairs
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect::<Map<_, _>>()
                )
            ),
        ]
    })
}

fn event_like() -> impl Strategy<Value = Value> {
    prop::collection::vec((prop::sample::select(&FIELDS[..]), json_value()), 0..12).prop_map(
        |pairs| Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()),
    )
}

/// A body: JSON of an event, a batch or anything else; NDJSON; or raw bytes.
fn body() -> impl Strategy<Value = (Vec<u8>, &'static str)> {
    prop_oneof![
        event_like().prop_map(|v| (v.to_string().into_bytes(), "application/json")),
        prop::collection::vec(event_like(), 0..5)
            .prop_map(|v| (Value::Array(v).to_string().into_bytes(), "application/json")),
        json_value().prop_map(|v| (v.to_string().into_bytes(), "application/json")),
        prop::collection::vec(event_like(), 0..4).prop_map(|v| {
            let lines: Vec<String> = v.iter().map(Value::to_string).collect();
            (lines.join("\n").into_bytes(), "application/x-ndjson")
        }),
        prop::collection::vec(any::<u8>(), 0..200).prop_map(|b| (b, "application/json")),
        prop::collection::vec(any::<u8>(), 0..50).prop_map(|b| (b, "application/x-ndjson")),
    ]
}

#[test]
fn random_bodies_never_cause_a_server_error() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let app = runtime.block_on(TestApp::spawn());
    let mut runner = TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&body(), |(bytes, content_type)| {
            let status = runtime
                .block_on(async { app.post_raw(bytes.clone(), content_type).await.status() });
            prop_assert!(
                status.is_success() || status.is_client_error(),
                "{status} for {content_type} body {:?}",
                String::from_utf8_lossy(&bytes)
            );
            Ok(())
        })
        .unwrap();
    // The server is still healthy afterwards.
    let health = runtime.block_on(async {
        app.http
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(health, 200);
}
