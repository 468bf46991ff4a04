//! Batches, idempotency and group commit: a batch is all or nothing, a repeated event_id is stored
//! once, concurrent producers are all answered after commit, and overload or database loss is a
//! quick 503, never a hang, with recovery and no restart.

use crate::common;

use common::TestApp;
use serde_json::{json, Value};
use std::time::Duration;
use uuid::Uuid;

#[tokio::test]
async fn a_batch_with_one_bad_event_stores_nothing_and_lists_each_problem() {
    let app = TestApp::spawn().await;
    let response = app
        .post_json(&json!([
            {"event_type": "auth.logout"},
            {"event_type": "auth.logout", "ip_address": "nope"},
            {"event_type": "auth.logout"},
            {"event_type": "auth.logout", "mfa_used": 1, "severity": "x"}
        ]))
        .await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    let problems: Vec<(u64, &str)> = body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["index"].as_u64().unwrap(), d["field"].as_str().unwrap()))
        .collect();
    assert!(problems.contains(&(1, "ip_address")), "{body}");
    assert!(
        problems.contains(&(3, "mfa_used")) && problems.contains(&(3, "severity")),
        "{body}"
    );
    assert_eq!(problems.len(), 3);
    assert_eq!(app.event_count().await, 0);
}

#[tokio::test]
async fn arrays_and_ndjson_are_stored_in_order() {
    let app = TestApp::spawn().await;
    let receipts = app
        .ingest(&json!([{"event_type": "auth.logout", "username": "a"}, {"event_type": "auth.logout", "username": "b"}]))
        .await;
    assert!(receipts[0]["seq"].as_i64() < receipts[1]["seq"].as_i64());

    let ndjson = "{\"event_type\":\"auth.logout\",\"username\":\"c\"}\n{\"event_type\":\"auth.logout\",\"username\":\"d\"}\n";
    let response = app.post_raw(ndjson, "application/x-ndjson").await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["events"].as_array().unwrap().len(), 2);
    let names: Vec<String> = sqlx::query_scalar("select username from events order by seq")
        .fetch_all(&app.database.pool)
        .await
        .unwrap();
    assert_eq!(names, ["a", "b", "c", "d"]);
}

#[tokio::test]
async fn a_repeated_event_id_is_stored_once_and_reported_as_duplicate() {
    let app = TestApp::spawn().await;
    let event_id = Uuid::now_v7().to_string();
    let event =
        json!({"event_type": "auth.token.issued", "event_id": event_id, "token_type": "access"});
    let first = app.ingest(&event).await;
    assert_eq!(first[0]["duplicate"], false);
    assert_eq!(first[0]["id"], event_id.as_str());

    let again = app.ingest(&event).await;
    assert_eq!(again[0]["duplicate"], true);
    assert_eq!(again[0]["seq"], first[0]["seq"], "the original seq");

    // Within one batch too: the first occurrence is stored, the second is its duplicate.
    let other = Uuid::now_v7().to_string();
    let twice = json!([
        {"event_type": "auth.logout", "event_id": other},
        {"event_type": "auth.logout", "event_id": other}
    ]);
    let receipts = app.ingest(&twice).await;
    assert_eq!(
        (
            receipts[0]["duplicate"].clone(),
            receipts[1]["duplicate"].clone()
        ),
        (json!(false), json!(true))
    );
    assert_eq!(receipts[0]["seq"], receipts[1]["seq"]);
    assert_eq!(app.event_count().await, 2);
}

#[tokio::test]
async fn concurrent_producers_are_each_answered_after_commit() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let mut tasks = Vec::new();
    for i in 0..64 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            app.ingest(
                &json!({"event_type": "auth.login.failure", "username": format!("user-{i}")}),
            )
            .await
        }));
    }
    let mut seqs = Vec::new();
    for task in tasks {
        let receipts = task.await.unwrap();
        seqs.push(receipts[0]["seq"].as_i64().unwrap());
    }
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), 64, "every request got its own seq");
    assert_eq!(
        app.event_count().await,
        64,
        "and every acknowledged event is stored"
    );
}

#[tokio::test]
async fn a_full_queue_is_a_503_with_retry_after() {
    let app = TestApp::spawn_with(|args| args.ingest_queue = 5).await;
    let batch: Vec<Value> = (0..10)
        .map(|_| json!({"event_type": "auth.logout"}))
        .collect();
    let response = app.post_json(&Value::Array(batch)).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "busy");
    assert_eq!(app.event_count().await, 0);
}

#[tokio::test]
async fn losing_the_database_is_a_503_and_ingest_recovers_by_itself() {
    let (app, mut cluster) = TestApp::spawn_on_own_cluster("db-loss").await;
    app.ingest(&json!({"event_type": "auth.logout", "username": "before"}))
        .await;

    cluster.stop();
    let response = tokio::time::timeout(
        Duration::from_secs(10),
        app.post_json(&json!({"event_type": "auth.logout", "username": "during"})),
    )
    .await
    .expect("an answer, not a hang");
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 503);

    cluster.start();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let response = app
            .post_json(&json!({"event_type": "auth.logout", "username": "after"}))
            .await;
        if response.status() == 201 {
            break;
        }
        assert_eq!(response.status(), 503);
        assert!(
            tokio::time::Instant::now() < deadline,
            "ingest did not recover within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let names: Vec<String> = sqlx::query_scalar("select username from events order by seq")
        .fetch_all(&app.database.pool)
        .await
        .unwrap();
    assert_eq!(
        names,
        ["before", "after"],
        "acknowledged events kept, refused ones absent"
    );
}
