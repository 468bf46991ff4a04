//! Ingest over real HTTP into a real database: what is acknowledged is stored, what is rejected
//! says why and stores nothing.

mod common;

use common::TestApp;
use serde_json::{json, Value};

#[tokio::test]
async fn posted_event_is_stored_before_the_201() {
    let app = TestApp::spawn().await;
    let response = app
        .post_json(&json!({
            "event_type": "auth.login.failure", "action": "login", "action_result": "failure",
            "severity": "warning", "user_id": "u-1", "username": "mallory", "ip_address": "203.0.113.7",
            "user_agent": "curl/8", "reason": "Invalid credentials", "event_data": {"attempt": 3}
        }))
        .await;
    assert_eq!(response.status(), 201);
    let receipt: Value = response.json().await.unwrap();
    let seq = receipt["seq"].as_i64().expect("seq is a number");
    let id = receipt["id"].as_str().expect("id is a string");

    let (stored_id, username, ip, data): (uuid::Uuid, String, String, Value) = sqlx::query_as(
        "select id, username, host(ip_address), event_data from events where seq = $1",
    )
    .bind(seq)
    .fetch_one(&app.database.pool)
    .await
    .unwrap();
    assert_eq!(stored_id.to_string(), id);
    assert_eq!(username, "mallory");
    assert_eq!(ip, "203.0.113.7");
    assert_eq!(data, json!({"attempt": 3}));
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
        body["message"].as_str().unwrap().contains("line 2"),
        "{body}"
    );
    assert_eq!(app.event_count().await, 0);
}

#[tokio::test]
async fn missing_event_type_is_a_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let response = app
        .post_json(&json!({"username": "alice", "ip_address": "not-an-ip"}))
        .await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    let fields: Vec<&str> = body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"event_type"), "{body}");
    assert!(fields.contains(&"ip_address"), "{body}");
    assert_eq!(app.event_count().await, 0);
}

#[tokio::test]
async fn non_json_content_type_is_a_415() {
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
async fn healthz_answers_once_the_database_does() {
    let app = TestApp::spawn().await;
    let response = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn dashboard_is_rendered_on_the_server_with_stored_events() {
    let app = TestApp::spawn().await;
    let posted = app
        .post_json(&json!({"event_type": "LOGIN_SUCCESS", "username": "ssr-visible-user", "ip_address": "2001:db8::1"}))
        .await;
    assert_eq!(posted.status(), 201);
    let page = app.http.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("ssr-visible-user"),
        "the SSR page lists the stored event"
    );
    assert!(html.contains("2001:db8::1"));
    assert!(
        html.contains("/pkg/vigil.js"),
        "the page loads the hydration bundle"
    );
}
