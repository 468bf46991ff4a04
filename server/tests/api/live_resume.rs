//! The live stream as one system: `after=` replay with no gap or duplicate at the seam, several
//! instances on one database, and clients that fall behind or never read.

use crate::common;

use common::live::{follow, follow_at, next_json, next_seqs};
use common::TestApp;
use serde_json::{json, Value};
use std::sync::Arc;
use vigil_server::storage::EventStore;

/// Posts `batches` batches of `size` logouts; returns the seqs, in order.
async fn post_batches(app: &TestApp, batches: usize, size: usize) -> Vec<i64> {
    let mut seqs = Vec::new();
    for b in 0..batches {
        let events: Vec<Value> = (0..size)
            .map(|i| json!({"event_type": "auth.logout", "username": format!("b{b}-{i}")}))
            .collect();
        let receipts = app.ingest(&Value::Array(events)).await;
        seqs.extend(receipts.iter().map(|r| r["seq"].as_i64().unwrap()));
    }
    seqs
}

#[tokio::test]
async fn after_replays_a_burst_then_goes_live_with_no_gap_or_duplicate() {
    let app = Arc::new(TestApp::spawn().await);
    let stored = post_batches(&app, 6, 50).await;
    let after = stored[99];
    let mut socket = follow(&app, &format!("after={after}")).await.unwrap();
    // More events while the replay may still be running: the seam must not show.
    let poster = {
        let app = app.clone();
        tokio::spawn(async move { post_batches(&app, 4, 25).await })
    };
    let received = next_seqs(&mut socket, 300).await;
    let posted_live = poster.await.unwrap();
    let mut expected: Vec<i64> = stored[100..].to_vec();
    expected.extend(posted_live);
    assert_eq!(received, expected);
    assert_eq!(
        expected,
        (after + 1..=after + 300).collect::<Vec<_>>(),
        "seqs are gapless"
    );
}

/// Long replays go through shared windows (`CatchUp::window`) and then pages: from the start,
/// from the middle of a window, and with a filter too sparse for windows, every event arrives
/// once, in order, and the live stream follows without a seam.
#[tokio::test]
async fn long_replays_from_any_point_miss_nothing_and_repeat_nothing() {
    let app = TestApp::spawn().await;
    let stored = post_batches(&app, 15, 100).await;
    let newest = *stored.last().unwrap();
    let mut from_start = follow(&app, "after=0").await.unwrap();
    let mut from_middle = follow(&app, "after=700").await.unwrap();
    let mut one_user = follow(&app, "after=0&user=b3-7").await.unwrap();
    let live = post_batches(&app, 1, 3).await;

    let mut expected = stored.clone();
    expected.extend(&live);
    assert_eq!(next_seqs(&mut from_start, expected.len()).await, expected);
    let from_700: Vec<i64> = expected.iter().copied().filter(|s| *s > 700).collect();
    assert_eq!(next_seqs(&mut from_middle, from_700.len()).await, from_700);
    assert_eq!(next_seqs(&mut one_user, 1).await, [stored[307]]);
    assert_eq!(newest, 1_500, "several whole windows were replayed");
}

#[tokio::test]
async fn after_with_a_filter_replays_only_matches() {
    let app = TestApp::spawn().await;
    app.ingest(&json!([
        {"event_type": "auth.login.failure", "username": "a"},
        {"event_type": "auth.login.success", "username": "b"},
        {"event_type": "auth.login.failure", "username": "c"}
    ]))
    .await;
    let mut socket = follow(&app, "after=0&type=auth.login.failure")
        .await
        .unwrap();
    let mut names = Vec::new();
    while names.len() < 2 {
        let message = next_json(&mut socket).await;
        if message["kind"] == "event" {
            names.push(message["event"]["username"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(names, ["a", "c"]);
    // The heartbeat after the replay says everything through the newest seq was considered.
    loop {
        let message = next_json(&mut socket).await;
        if message["kind"] == "heartbeat" {
            assert_eq!(message["seq"], 3);
            break;
        }
    }
    match follow(&app, "after=-1").await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 422)
        }
        other => panic!("expected 422, got {:?}", other.map(|_| "a socket")),
    }
}

#[tokio::test]
async fn two_instances_are_one_stream_and_one_chain() {
    let app = Arc::new(TestApp::spawn().await);
    let second = app.instance("127.0.0.1:0".parse().unwrap()).await;
    let mut on_first = follow(&app, "").await.unwrap();
    let mut on_second = follow_at(&app, second.addr, "").await.unwrap();
    assert_eq!(next_json(&mut on_first).await["kind"], "heartbeat");
    assert_eq!(next_json(&mut on_second).await["kind"], "heartbeat");

    // Both instances take writes at the same time.
    let key = app.key.clone();
    let second_url = second.url("/api/v1/events");
    let posts: Vec<_> = (0..20)
        .map(|i| {
            let (app, key, second_url) = (app.clone(), key.clone(), second_url.clone());
            tokio::spawn(async move {
                let body: Vec<Value> = (0..5)
                    .map(|j| json!({"event_type": "auth.token.issued", "user_id": format!("{i}-{j}")}))
                    .collect();
                let url = if i % 2 == 0 { app.url("/api/v1/events") } else { second_url };
                let response = app
                    .http
                    .post(url)
                    .bearer_auth(key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 201);
            })
        })
        .collect();
    for post in posts {
        post.await.unwrap();
    }
    let everything: Vec<i64> = (1..=100).collect();
    assert_eq!(next_seqs(&mut on_first, 100).await, everything);
    assert_eq!(next_seqs(&mut on_second, 100).await, everything);
    let verified = EventStore::new(app.database.pool.clone())
        .verify_chain(None)
        .await
        .unwrap();
    assert_eq!((verified.first_bad_seq, verified.through_seq), (None, 100));
    second.stop().await;
}

#[tokio::test]
async fn a_client_that_never_reads_holds_up_neither_ingest_nor_other_clients() {
    let app = TestApp::spawn().await;
    // Connected and then never read: its socket buffers fill and stay full.
    let _stalled = follow(&app, "").await.unwrap();
    let mut reader = follow(&app, "").await.unwrap();
    assert_eq!(next_json(&mut reader).await["kind"], "heartbeat");
    // ~6 MB of events: far beyond what socket buffers hold, and more than the hub keeps.
    let padding = "x".repeat(1000);
    let mut posted = Vec::new();
    for batch in 0..20 {
        let events: Vec<Value> = (0..300)
            .map(|i| json!({"event_type": "auth.token.refresh", "user_agent": padding, "user_id": format!("{batch}-{i}")}))
            .collect();
        let receipts = app.ingest(&Value::Array(events)).await;
        posted.extend(receipts.iter().map(|r| r["seq"].as_i64().unwrap()));
    }
    assert_eq!(next_seqs(&mut reader, posted.len()).await, posted);
}
