//! WebSocket helpers for the live-stream tests.

use futures::StreamExt;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use vigil_server::storage::KeyKind;

use super::TestApp;

pub type WsStream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next JSON text frame, failing the test after 10 s.
pub async fn next_json<S>(socket: &mut S) -> Value
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

/// The next `count` events' seqs (heartbeats skipped).
pub async fn next_seqs(socket: &mut WsStream, count: usize) -> Vec<i64> {
    let mut seqs = Vec::with_capacity(count);
    while seqs.len() < count {
        let message = next_json(socket).await;
        if message["kind"] == "event" {
            seqs.push(message["event"]["seq"].as_i64().unwrap());
        }
    }
    seqs
}

/// Opens `/api/v1/stream?{query}` on `app` with a new read key.
pub async fn follow(
    app: &TestApp,
    query: &str,
) -> Result<WsStream, tokio_tungstenite::tungstenite::Error> {
    follow_at(app, app.addr, query).await
}

/// Like `follow`, on another instance of the same database.
pub async fn follow_at(
    app: &TestApp,
    addr: SocketAddr,
    query: &str,
) -> Result<WsStream, tokio_tungstenite::tungstenite::Error> {
    let read_key = super::create_key(
        &app.database,
        &format!("tail-{}", uuid::Uuid::now_v7()),
        KeyKind::Read,
    )
    .await;
    let mut request = format!("ws://{addr}/api/v1/stream?{query}")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {read_key}").parse().unwrap(),
    );
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(socket, _)| socket)
}
