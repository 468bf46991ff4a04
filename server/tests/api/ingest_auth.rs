//! Producer keys: only an active ingest key may post; every refusal is a JSON 401/403 and stores
//! nothing.

use crate::common;

use common::{create_key, TestApp};
use serde_json::Value;
use std::time::Duration;
use vigil_server::storage::KeyKind;

const EVENT: &str = r#"{"event_type":"auth.logout","username":"eve"}"#;

async fn refused(app: &TestApp, key: Option<&str>) -> (u16, Value) {
    let response = app.post_with_key(EVENT, "application/json", key).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn missing_malformed_and_unknown_keys_are_401() {
    let app = TestApp::spawn().await;
    for key in [None, Some(""), Some("vigil_not_a_real_key")] {
        let (status, body) = refused(&app, key).await;
        assert_eq!(status, 401, "{key:?}");
        assert_eq!(body["error"], "unauthorized");
    }
    let basic = app
        .http
        .post(app.url("/api/v1/events"))
        .header("content-type", "application/json")
        .header("authorization", "Basic dXNlcjpwYXNz")
        .body(EVENT)
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
    assert_eq!(app.event_count().await, 0);
}

#[tokio::test]
async fn a_read_key_cannot_ingest() {
    let app = TestApp::spawn().await;
    let read_key = create_key(&app.database, "dashboards", KeyKind::Read).await;
    let (status, body) = refused(&app, Some(&read_key)).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(app.event_count().await, 0);
}

#[tokio::test]
async fn a_revoked_key_stops_working() {
    let app = TestApp::spawn().await;
    let key = create_key(&app.database, "short-lived", KeyKind::Ingest).await;
    let ok = app
        .post_with_key(EVENT, "application/json", Some(&key))
        .await;
    assert_eq!(ok.status(), 201, "the key works (and is now cached)");

    assert!(app.keys().revoke("short-lived").await.unwrap());
    // Revocation reaches the instance's cache through LISTEN/NOTIFY: await it, with a bound.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let status = app
            .post_with_key(EVENT, "application/json", Some(&key))
            .await
            .status();
        if status == 401 {
            break;
        }
        assert_eq!(status, 201);
        assert!(
            tokio::time::Instant::now() < deadline,
            "revoked key still accepted after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let listed = app.keys().list().await.unwrap();
    assert!(listed
        .iter()
        .any(|k| k.name == "short-lived" && k.revoked_at.is_some()));
    assert!(
        !app.keys().revoke("short-lived").await.unwrap(),
        "revoking twice reports nothing to do"
    );
}

#[tokio::test]
async fn key_names_are_unique() {
    let app = TestApp::spawn().await;
    let again = app
        .keys()
        .create(
            "test-producer",
            KeyKind::Ingest,
            &vigil_server::auth::hash_key("other"),
        )
        .await;
    assert!(again.is_err());
}
