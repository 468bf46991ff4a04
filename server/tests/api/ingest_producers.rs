//! Producers cannot interfere with each other (issue 21): an `event_id` is idempotent per
//! producer, and another producer's id is a `409` that says nothing of the first event.

use crate::common::{self, TestApp};
use serde_json::{json, Value};
use vigil_server::storage::KeyKind;

async fn post_as(app: &TestApp, key: &str, body: &Value) -> (u16, Value) {
    let response = app
        .post_with_key(body.to_string(), "application/json", Some(key))
        .await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn another_producers_event_id_is_refused_without_revealing_the_first_event() {
    let app = TestApp::spawn().await;
    let other = common::create_key(&app.database, "other-producer", KeyKind::Ingest).await;
    let id = uuid::Uuid::now_v7();
    let secret =
        json!({"event_id": id, "event_type": "auth.login.failure", "username": "secret-user"});
    let (status, first) = post_as(&app, &app.key, &secret).await;
    assert_eq!(status, 201);
    let (status, retry) = post_as(&app, &app.key, &secret).await;
    assert_eq!(
        (status, &retry["events"][0]["duplicate"]),
        (201, &json!(true)),
        "own retry"
    );

    let fresh = json!({"event_type": "auth.logout", "username": "fresh"});
    let (status, body) = post_as(
        &app,
        &other,
        &json!([fresh, {"event_id": id, "event_type": "auth.logout"}]),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "event_id_taken");
    assert_eq!(
        body["details"],
        json!([{"index": 1, "field": "event_id", "reason": "already used; choose a new one"}])
    );
    let text = body.to_string();
    assert_eq!(first["events"][0]["seq"], 1);
    for hidden in ["secret-user", "test-producer", "seq", "duplicate", "hash"] {
        assert!(!text.contains(hidden), "{hidden} leaked: {text}");
    }
    assert_eq!(
        app.event_count().await,
        1,
        "nothing of the refused batch was stored"
    );

    // Two producers racing on one new id: exactly one stores it, the other is refused.
    let raced = uuid::Uuid::now_v7();
    let event = json!({"event_id": raced, "event_type": "auth.logout"});
    let (a, b) = tokio::join!(
        post_as(&app, &app.key, &event),
        post_as(&app, &other, &event)
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [201, 409]);
    let stored: i64 = sqlx::query_scalar("select count(*) from events where id = $1")
        .bind(raced)
        .fetch_one(&app.database.pool)
        .await
        .unwrap();
    assert_eq!(stored, 1);
}
