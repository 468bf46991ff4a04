//! The live stream over a real WebSocket: an event posted after connecting arrives as one message.

use crate::common;

use common::live::{follow, next_json};
use common::TestApp;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[tokio::test]
async fn event_posted_after_connecting_is_pushed() {
    let app = TestApp::spawn().await;
    let mut socket = follow(&app, "").await.expect("the upgrade succeeds");
    // The server sends a heartbeat as soon as it has subscribed: from then on nothing is missed.
    let hello = next_json(&mut socket).await;
    assert_eq!(hello["kind"], "heartbeat");

    let response = app
        .post_json(&json!({"event_type": "auth.mfa.enabled", "username": "carol", "ip_address": "192.0.2.10"}))
        .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let receipt = &body["events"][0];

    let message = next_json(&mut socket).await;
    assert_eq!(message["kind"], "event");
    let event = &message["event"];
    assert_eq!(event["seq"], receipt["seq"]);
    assert_eq!(event["id"], receipt["id"]);
    assert_eq!(event["username"], "carol");
    assert_eq!(event["event_type"], "auth.mfa.enabled");
    assert_eq!(event["category"], "mfa");
    assert!(event["received_at"].is_string());
}

#[tokio::test]
async fn the_stream_refuses_anonymous_clients_and_ingest_keys() {
    let app = TestApp::spawn().await;
    let anonymous =
        tokio_tungstenite::connect_async(format!("ws://{}/api/v1/stream", app.addr)).await;
    let status = match anonymous {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status(),
        other => panic!("expected an HTTP refusal, got {other:?}"),
    };
    assert_eq!(status, 401);
    let mut request = format!("ws://{}/api/v1/stream", app.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {}", app.key).parse().unwrap(),
    );
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("expected 403, got {other:?}"),
    }
}

#[tokio::test]
async fn concurrent_ingest_reaches_the_stream_once_each_in_seq_order() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let mut socket = follow(&app, "").await.unwrap();
    assert_eq!(next_json(&mut socket).await["kind"], "heartbeat");

    let posts: Vec<_> = (0..48)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                let batch: Vec<serde_json::Value> = (0..5)
                    .map(|j| json!({"event_type": "auth.logout", "username": format!("u{i}-{j}")}))
                    .collect();
                app.ingest(&serde_json::Value::Array(batch)).await
            })
        })
        .collect();
    for post in posts {
        post.await.unwrap();
    }
    let mut seqs = Vec::new();
    while seqs.len() < 240 {
        let message = next_json(&mut socket).await;
        if message["kind"] == "event" {
            seqs.push(message["event"]["seq"].as_i64().unwrap());
        }
    }
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "strictly increasing: {seqs:?}"
    );
}

#[tokio::test]
async fn a_filtered_stream_carries_only_matching_events() {
    let app = TestApp::spawn().await;
    let mut failures = follow(&app, "type=auth.login.failure&ip=10.0.0.0%2F8")
        .await
        .unwrap();
    assert_eq!(next_json(&mut failures).await["kind"], "heartbeat");
    app.ingest(&json!([
        {"event_type": "auth.login.success", "username": "ok", "ip_address": "10.0.0.1"},
        {"event_type": "auth.login.failure", "username": "outside", "ip_address": "192.0.2.1"},
        {"event_type": "auth.login.failure", "username": "inside", "ip_address": "10.20.30.40"}
    ]))
    .await;
    // A later, unfiltered marker proves nothing else was queued before it.
    app.ingest(&json!({"event_type": "auth.login.failure", "username": "marker", "ip_address": "10.9.9.9"})).await;
    let mut names = Vec::new();
    while names.last().map(String::as_str) != Some("marker") {
        let message = next_json(&mut failures).await;
        if message["kind"] == "event" {
            names.push(message["event"]["username"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(names, ["inside", "marker"]);

    match follow(&app, "ip=not-an-ip").await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 422)
        }
        other => panic!(
            "expected a 422 refusal, got {:?}",
            other.map(|_| "a socket")
        ),
    }
}

/// The writer keeps off the fan-out's CPUs only while the fan-out has work (`WriterCpus`), so
/// what counts as work decides where ingest runs: a connection whose filter matched nothing and
/// its heartbeats are none (counted, idle followers kept the writer confined and cost ingest);
/// a match and the frame it sends are.
#[tokio::test]
async fn only_matches_and_the_events_sent_count_as_fan_out_work() {
    let app = TestApp::spawn().await;
    let mut failures = follow(&app, "type=auth.login.failure").await.unwrap();
    assert_eq!(next_json(&mut failures).await["kind"], "heartbeat");
    app.ingest(&json!([
        {"event_type": "auth.logout", "username": "unmatched"},
        {"event_type": "auth.login.success", "username": "unmatched"}
    ]))
    .await;
    app.ingest(&json!({"event_type": "auth.login.failure", "username": "matched"}))
        .await;
    let message = next_json(&mut failures).await;
    assert_eq!(message["event"]["username"], "matched");
    // The group matched it once and the connection sent it once; the heartbeat and the two
    // events the filter passed over counted nothing.
    assert_eq!(app.hub.fan_out_work().so_far(), 2);
}

/// Every worker of the process's fan-out runtime, held until this is dropped: a fan-out too
/// busy to run a new stream's sender for a while, as on a loaded machine.
struct FanOutHeld(std::sync::Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>);

impl FanOutHeld {
    fn hold(fan_out: &tokio::runtime::Handle) -> Self {
        let gate = std::sync::Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
        let workers = fan_out.metrics().num_workers();
        let (started, holding) = std::sync::mpsc::channel();
        for _ in 0..workers {
            let (gate, started) = (gate.clone(), started.clone());
            fan_out.spawn(async move {
                let _ = started.send(());
                let (released, wake) = &*gate;
                let mut released = released.lock().unwrap();
                while !*released {
                    released = wake.wait(released).unwrap();
                }
            });
        }
        for _ in 0..workers {
            (holding.recv_timeout(std::time::Duration::from_secs(10)))
                .expect("every fan-out worker is held");
        }
        FanOutHeld(gate)
    }
}

impl Drop for FanOutHeld {
    fn drop(&mut self) {
        let (released, wake) = &*self.0;
        *released.lock().unwrap() = true;
        wake.notify_all();
    }
}

/// An event committed after the handshake reaches the stream even when the fan-out starts the
/// stream's sender only after its filter's matcher has seen the event. The follower subscribes
/// when the request is admitted; it used to subscribe when its sender first ran, and the event
/// was lost (seen once as a 10 s timeout in a loaded CI run).
#[tokio::test]
async fn an_event_committed_before_a_busy_fan_out_starts_the_sender_arrives() {
    let app = TestApp::spawn().await;
    let held = FanOutHeld::hold(app.hub.fan_out_handle());
    let mut socket = follow(&app, "type=auth.logout")
        .await
        .expect("the upgrade succeeds");
    let receipt = app.ingest(&json!({"event_type": "auth.logout"})).await;
    let seq = receipt[0]["seq"].as_i64().unwrap();
    common::eventually("the hub to publish the event", || async {
        (app.hub.subscribe().1 >= seq).then_some(())
    })
    .await;
    drop(held);
    let delivered = loop {
        let message = next_json(&mut socket).await;
        if message["kind"] != "heartbeat" {
            break message;
        }
    };
    assert_eq!(delivered["event"]["seq"], seq, "{delivered}");
}
