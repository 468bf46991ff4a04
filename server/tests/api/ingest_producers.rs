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

#[tokio::test]
async fn a_time_far_ahead_is_held_to_its_receipt_flagged_and_cannot_top_the_lists() {
    let app = TestApp::spawn().await;
    let read = common::create_key(&app.database, "reader", KeyKind::Read).await;
    let ahead = chrono::Utc::now() + chrono::Duration::days(365);
    let near = chrono::Utc::now() + chrono::Duration::seconds(60);
    app.ingest(&json!([
        {"event_type": "auth.login.failure", "username": "from-the-future", "occurred_at": ahead},
        {"event_type": "auth.login.failure", "username": "slightly-fast", "occurred_at": near},
    ]))
    .await;
    app.ingest(&json!({"event_type": "auth.login.failure", "username": "later"}))
        .await;

    let page: Value = (app
        .http
        .get(app.url("/api/v1/events?type=auth.login.failure")))
    .bearer_auth(&read)
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let events = page["events"].as_array().unwrap();
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["username"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["slightly-fast", "later", "from-the-future"],
        "newest first"
    );
    let future = &events[2];
    assert_eq!(
        future["occurred_at"], future["received_at"],
        "stored as received"
    );
    let claimed: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(future["occurred_at_claimed"].clone()).unwrap();
    assert_eq!(
        claimed.timestamp_micros(),
        ahead.timestamp_micros(),
        "the claim is kept"
    );
    assert!(
        events[0].get("occurred_at_claimed").is_none(),
        "within the skew: believed"
    );
    let chain = vigil_server::storage::EventStore::new(app.database.pool.clone());
    assert_eq!(chain.verify_chain(None).await.unwrap().first_bad_seq, None);

    let html = (app
        .signed_in()
        .await
        .get(app.url("/failures"))
        .send()
        .await
        .unwrap())
    .text()
    .await
    .unwrap();
    assert_eq!(
        html.matches("data-testid=\"clock-ahead\"").count(),
        1,
        "shown as such"
    );
}
