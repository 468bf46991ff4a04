//! The live stream over a real WebSocket: an event posted after connecting arrives as one message.

mod common;

use common::TestApp;
use futures::StreamExt;
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

async fn next_json<S>(socket: &mut S) -> Value
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message within 10 s")
            .expect("the stream stays open")
            .expect("a valid frame");
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).expect("frames are JSON");
        }
    }
}

#[tokio::test]
async fn event_posted_after_connecting_is_pushed() {
    let app = TestApp::spawn().await;
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/api/v1/stream", app.addr))
            .await
            .expect("the upgrade succeeds");
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
