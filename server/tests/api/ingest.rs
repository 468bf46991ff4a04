//! Ingest over real HTTP into a real database: the seed vocabulary, defaults, and every rejection.
//! What is acknowledged is stored; what is rejected says which field and why, and stores nothing.

use crate::common;

use common::TestApp;
use serde_json::{json, Value};
use vigil_server::events::{session_fingerprint, REDACTED};
use vigil_wire::KNOWN_EVENT_TYPES;

#[tokio::test]
async fn posted_event_is_stored_before_the_201() {
    let app = TestApp::spawn().await;
    let receipts = app
        .ingest(&json!({
            "event_type": "auth.login.failure", "action": "login", "action_result": "failure",
            "severity": "warning", "user_id": "u-1", "username": "mallory", "ip_address": "203.0.113.7",
            "user_agent": "curl/8", "reason": "Invalid credentials", "event_data": {"attempt": 3}
        }))
        .await;
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0]["duplicate"], false);
    let seq = receipts[0]["seq"].as_i64().expect("seq is a number");

    let (id, username, ip, data, source): (uuid::Uuid, String, String, Value, String) =
        sqlx::query_as(
            "select id, username, host(ip_address), event_data, source from events where seq = $1",
        )
        .bind(seq)
        .fetch_one(&app.database.pool)
        .await
        .unwrap();
    assert_eq!(id.to_string(), receipts[0]["id"].as_str().unwrap());
    assert_eq!(
        id.get_version_num(),
        7,
        "server ids are time-ordered UUIDv7"
    );
    assert_eq!((username.as_str(), ip.as_str()), ("mallory", "203.0.113.7"));
    assert_eq!(data, json!({"attempt": 3}));
    assert_eq!(
        source, "test-producer",
        "the source is the producer key's name"
    );
}

#[tokio::test]
async fn every_seed_type_and_alias_is_stored_canonically_with_its_category() {
    let app = TestApp::spawn().await;
    let mut batch = Vec::new();
    for known in &KNOWN_EVENT_TYPES {
        batch.push(json!({"event_type": known.canonical, "action_result": "success"}));
        batch.push(json!({"event_type": known.seed_name, "action_result": "success"}));
    }
    let receipts = app.ingest(&Value::Array(batch)).await;
    assert_eq!(receipts.len(), 42);
    for (i, known) in KNOWN_EVENT_TYPES.iter().enumerate() {
        for receipt in &receipts[2 * i..2 * i + 2] {
            let (event_type, category): (String, String) =
                sqlx::query_as("select event_type, category from events where seq = $1")
                    .bind(receipt["seq"].as_i64().unwrap())
                    .fetch_one(&app.database.pool)
                    .await
                    .unwrap();
            assert_eq!(event_type, known.canonical);
            assert_eq!(category, known.category.as_str());
        }
    }
}

#[tokio::test]
async fn defaults_follow_the_seed() {
    let app = TestApp::spawn().await;
    let receipts = app
        .ingest(&json!([
            {"event_type": "LOGIN_SUCCESS", "username": "a"},
            {"event_type": "LOGIN_FAILURE", "username": "a"},
            {"event_type": "auth.password.changed", "forced": true},
            {"event_type": "auth.custom.event", "action_result": "partial", "severity": "Severity.ERROR"}
        ]))
        .await;
    let mut rows = Vec::new();
    for receipt in &receipts {
        let row: (String, String, String, String) = sqlx::query_as(
            "select action, action_result, severity, category from events where seq = $1",
        )
        .bind(receipt["seq"].as_i64().unwrap())
        .fetch_one(&app.database.pool)
        .await
        .unwrap();
        rows.push(row);
    }
    let expected = [
        ("login_success", "success", "info", "authentication"),
        ("login_failure", "failure", "warning", "authentication"),
        ("password_changed", "success", "info", "password"),
        ("custom_event", "partial", "error", "custom"),
    ];
    for (row, want) in rows.iter().zip(expected) {
        assert_eq!(
            (
                row.0.as_str(),
                row.1.as_str(),
                row.2.as_str(),
                row.3.as_str()
            ),
            want
        );
    }
}

/// One bad value per kind of field; each must be named in a 422 and store nothing.
#[tokio::test]
async fn each_kind_of_bad_field_is_named() {
    let app = TestApp::spawn().await;
    let long = "x".repeat(300);
    let cases = [
        (json!({"username": "a"}), "event_type"),
        (json!({"event_type": "Not A Type"}), "event_type"),
        (json!({"event_type": 7}), "event_type"),
        (
            json!({"event_type": "auth.logout", "ip_address": "300.1.1.1"}),
            "ip_address",
        ),
        (
            json!({"event_type": "auth.logout", "event_id": "nope"}),
            "event_id",
        ),
        (
            json!({"event_type": "auth.logout", "action_result": "maybe"}),
            "action_result",
        ),
        (
            json!({"event_type": "auth.logout", "severity": "loud"}),
            "severity",
        ),
        (
            json!({"event_type": "auth.logout", "occurred_at": "yesterday"}),
            "occurred_at",
        ),
        (
            json!({"event_type": "auth.logout", "expires_at": 12}),
            "expires_at",
        ),
        (
            json!({"event_type": "auth.logout", "mfa_used": "yes"}),
            "mfa_used",
        ),
        (
            json!({"event_type": "auth.logout", "username": long}),
            "username",
        ),
        (
            json!({"event_type": "auth.logout", "reason": {"a": 1}}),
            "reason",
        ),
        (
            json!({"event_type": "auth.logout", "event_data": [1]}),
            "event_data",
        ),
        (
            json!({"event_type": "auth.logout", "colour": "blue"}),
            "colour",
        ),
        (json!({"event_type": "billing.export.run"}), "action_result"),
    ];
    for (body, field) in cases {
        let response = app.post_json(&body).await;
        assert_eq!(response.status(), 422, "{body}");
        let error: Value = response.json().await.unwrap();
        let named: Vec<&str> = error["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["field"].as_str().unwrap())
            .collect();
        assert!(named.contains(&field), "{body} → {error}");
        assert!(error["details"][0]["reason"]
            .as_str()
            .is_some_and(|r| !r.is_empty()));
    }
    assert_eq!(app.event_count().await, 0);
}

#[tokio::test]
async fn unknown_fields_point_to_event_data() {
    let app = TestApp::spawn().await;
    let response = app
        .post_json(&json!({"event_type": "auth.logout", "tenant": "acme"}))
        .await;
    let error: Value = response.json().await.unwrap();
    assert!(
        error["details"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("event_data"),
        "{error}"
    );
}

#[tokio::test]
async fn malformed_json_is_a_400_naming_the_position_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let response = app
        .post_raw(
            "{\"event_type\": \"auth.logout\",\n  oops}",
            "application/json",
        )
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "malformed_json");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("line 2, column 3"),
        "{body}"
    );
    assert_eq!(app.event_count().await, 0);
}

#[tokio::test]
async fn wrong_content_type_is_a_415() {
    let app = TestApp::spawn().await;
    let response = app
        .post_raw(
            r#"{"event_type":"auth.logout"}"#,
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(response.status(), 415);
    assert_eq!(app.event_count().await, 0);
}

#[tokio::test]
async fn oversized_bodies_and_batches_are_a_413() {
    let app = TestApp::spawn_with(|args| args.max_body_bytes = 4_096).await;
    let padding = "p".repeat(5_000);
    let big = json!({"event_type": "auth.logout", "event_data": {"padding": padding}});
    let response = app.post_json(&big).await;
    assert_eq!(response.status(), 413);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "payload_too_large"
    );

    let app = TestApp::spawn().await;
    let batch: Vec<Value> = (0..1_001)
        .map(|_| json!({"event_type": "auth.logout"}))
        .collect();
    let response = app.post_json(&Value::Array(batch)).await;
    assert_eq!(response.status(), 413);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "too_many_events"
    );
    assert_eq!(app.event_count().await, 0);
}

#[tokio::test]
async fn secrets_are_redacted_and_sessions_fingerprinted() {
    let app = TestApp::spawn().await;
    let receipts = app
        .ingest(&json!({
            "event_type": "auth.login.success", "session_id": "sess-raw-123",
            "event_data": {"Password": "hunter2", "headers": {"Authorization": "Bearer x", "accept": "*/*"}}
        }))
        .await;
    let (data, fingerprint): (Value, String) =
        sqlx::query_as("select event_data, session_fingerprint from events where seq = $1")
            .bind(receipts[0]["seq"].as_i64().unwrap())
            .fetch_one(&app.database.pool)
            .await
            .unwrap();
    assert_eq!(
        data,
        json!({"Password": REDACTED, "headers": {"Authorization": REDACTED, "accept": "*/*"}})
    );
    assert_ne!(fingerprint, "sess-raw-123");
    let dump: String = sqlx::query_scalar("select string_agg(events::text, ' ') from events")
        .fetch_one(&app.database.pool)
        .await
        .unwrap();
    assert!(
        !dump.contains("sess-raw-123") && !dump.contains("hunter2"),
        "no raw secret is stored"
    );
    // Searching by the raw session id finds the event through its fingerprint.
    let found: i64 =
        sqlx::query_scalar("select count(*) from events where session_fingerprint = $1")
            .bind(session_fingerprint("sess-raw-123"))
            .fetch_one(&app.database.pool)
            .await
            .unwrap();
    assert_eq!(found, 1);
}

/// Issue 17, item 14: every hostile value from the report is stored redacted, the ordinary
/// sentence beside them intact.
#[tokio::test]
async fn secrets_inside_values_and_free_text_are_never_stored() {
    let app = TestApp::spawn().await;
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJlLXNlY3JldA";
    let vigil_key = format!("vigil_{}", "Zq9".repeat(13) + "x");
    app.ingest(&json!({
        "event_type": "auth.login.failure",
        "reason": "retry with password=hunter2",
        "error_message": format!("upstream said: Bearer {jwt}"),
        "user_agent": "curl/8.5 (+token=ua-secret-77)",
        "scope": "openid access_token=scope-secret-88",
        "event_data": {
            "headers": [["Authorization", format!("Bearer {jwt}")], ["Accept", "*/*"]],
            "note": format!("the session was {jwt}"),
            "callback": "https://app.example/cb?access_token=cb-secret-99&state=ok",
            "apiKey": "api-secret-11", "pwd": "pwd-secret-22",
            "pasted": format!("export VIGIL_TOKEN={vigil_key}"),
            "prose": "the token expired before the user came back"
        }
    }))
    .await;
    let dump: String = sqlx::query_scalar("select events::text from events")
        .fetch_one(&app.database.pool)
        .await
        .unwrap();
    for secret in [
        "hunter2",
        jwt,
        "ua-secret-77",
        "scope-secret-88",
        "cb-secret-99",
        "api-secret-11",
        "pwd-secret-22",
        &vigil_key,
    ] {
        assert!(!dump.contains(secret), "`{secret}` was stored: {dump}");
    }
    for kept in [
        "retry with password=[REDACTED]",
        "state=ok",
        "the token expired before the user came back",
        "curl/8.5 (+token=[REDACTED])",
        "Accept",
    ] {
        assert!(dump.contains(kept), "`{kept}` should be kept: {dump}");
    }
}

#[tokio::test]
async fn healthz_answers_once_the_database_does() {
    let app = TestApp::spawn().await;
    let response = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn dashboard_is_rendered_on_the_server_with_stored_events() {
    let app = TestApp::spawn().await;
    app.ingest(&json!({"event_type": "LOGIN_SUCCESS", "username": "ssr-visible-user", "ip_address": "2001:db8::1"}))
        .await;
    let page = app
        .signed_in()
        .await
        .get(app.url("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("ssr-visible-user"),
        "the SSR page lists the stored event"
    );
    assert!(html.contains("2001:db8::1"));
    assert!(
        html.contains("/pkg/vigil"),
        "the page loads the hydration bundle"
    );
}

#[tokio::test]
async fn the_openapi_document_is_served() {
    let app = TestApp::spawn().await;
    let response = app
        .http
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["paths"]["/api/v1/events"]["post"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}
