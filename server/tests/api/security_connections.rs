//! Slow and idle clients (issue 17, item 7), over raw sockets: half a header, an idle
//! keep-alive connection and a trickled body are dropped; connections beyond the cap wait, and
//! an open WebSocket holds its place.

use crate::common;

use common::TestApp;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Generous: the server's own timeouts in these tests are a second or two.
const CLOSED_WITHIN: Duration = Duration::from_secs(15);

async fn spawn_strict(max_connections: u64) -> TestApp {
    TestApp::spawn_with(|args| {
        args.connections.header_timeout_seconds = 1;
        args.connections.body_timeout_seconds = 1;
        args.connections.max_connections = max_connections;
    })
    .await
}

/// Reads until the server closes the connection; returns everything it sent.
async fn until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let reading = async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(CLOSED_WITHIN, reading)
        .await
        .expect("the server closes the connection");
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn half_sent_headers_are_dropped() {
    let app = spawn_strict(10_000).await;
    let mut slow = Vec::new();
    for _ in 0..100 {
        let mut stream = TcpStream::connect(app.addr).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: vigil\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(stream);
    }
    // A connection that never sends a byte is dropped too.
    slow.push(TcpStream::connect(app.addr).await.unwrap());
    for stream in &mut slow {
        until_closed(stream).await;
    }
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let app = spawn_strict(10_000).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: vigil\r\n\r\n")
        .await
        .unwrap();
    let received = until_closed(&mut stream).await;
    assert!(received.starts_with("HTTP/1.1 200"), "{received}");
}

#[tokio::test]
async fn a_trickled_body_is_cut_off_and_nothing_is_stored() {
    let app = spawn_strict(10_000).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/events HTTP/1.1\r\nHost: vigil\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
        app.key
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
        .write_all(br#"{"event_type": "auth.logout", "#)
        .await
        .unwrap();
    let received = until_closed(&mut stream).await;
    assert!(received.starts_with("HTTP/1.1 408"), "{received}");
    assert!(received.contains("body_timeout"), "{received}");
    assert_eq!(app.event_count().await, 0);
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_and_a_websocket_holds_its_place() {
    let app = TestApp::spawn_with(|args| args.connections.max_connections = 2).await;
    let mut socket = common::live::follow(&app, "")
        .await
        .expect("the stream opens");
    let idle = TcpStream::connect(app.addr).await.unwrap();
    let url = app.url("/healthz");
    let mut waiting = tokio::spawn(async move { reqwest::get(url).await.unwrap().status() });
    // Not answered while both places are taken (the stream and the idle connection)…
    let early = tokio::time::timeout(Duration::from_millis(500), &mut waiting).await;
    assert!(
        early.is_err(),
        "a third connection was served beyond a cap of two"
    );
    // …and answered once one goes.
    drop(idle);
    let status = tokio::time::timeout(CLOSED_WITHIN, waiting)
        .await
        .expect("served once a place is free")
        .unwrap();
    assert_eq!(status, 200);
    socket.close(None).await.unwrap();
}

/// Stalled exports (item 8): exports have their own budget (a third is a 429 while two run), a
/// client that reads nothing is dropped after the send timeout and its query cancelled, and
/// reads, sign-ins and health checks are served throughout.
#[tokio::test]
async fn stalled_exports_neither_starve_others_nor_hold_the_database() {
    let app = TestApp::spawn_with(|args| {
        args.connections.max_exports = 2;
        args.connections.send_timeout_seconds = 3;
    })
    .await;
    // About 24 MB of CSV: far more than the socket buffers of a client that reads nothing.
    let reason = "r".repeat(4000);
    for _ in 0..30 {
        let batch: Vec<serde_json::Value> = (0..200)
            .map(|_| serde_json::json!({"event_type": "auth.login.failure", "reason": reason}))
            .collect();
        app.ingest(&serde_json::Value::Array(batch)).await;
    }
    let key = common::create_key(
        &app.database,
        "exporter",
        vigil_server::storage::KeyKind::Read,
    )
    .await;
    let mut stalled = Vec::new();
    for _ in 0..2 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut stream = socket.connect(app.addr).await.unwrap();
        let request = format!(
            "GET /api/v1/events/export.csv HTTP/1.1\r\nHost: vigil\r\nAuthorization: Bearer {key}\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        // The export holds its place before it sends headers: once they arrive, it is running.
        let head = tokio::time::timeout(CLOSED_WITHIN, read_head(&mut stream))
            .await
            .expect("the stalled export starts");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        stalled.push(stream);
    }
    let export = || {
        app.http
            .get(app.url("/api/v1/events/export.csv"))
            .bearer_auth(&key)
            .send()
    };
    let refused = export().await.unwrap();
    assert_eq!(
        refused.status(),
        429,
        "with two exports stalled, a third is refused"
    );
    assert!(refused.headers().contains_key("retry-after"));

    let read = (app.http.get(app.url("/api/v1/events?limit=5")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        read.status(),
        200,
        "reads are served beside stalled exports"
    );
    assert!(app
        .sign_in_as(common::OPERATOR.0, common::OPERATOR.1)
        .await
        .is_some());
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    // Within the send timeout the stalled clients are dropped, their queries cancelled and
    // their places free again.
    let full = tokio::time::timeout(CLOSED_WITHIN, async {
        loop {
            let response = export().await.unwrap();
            if response.status() == 200 {
                return response.text().await.unwrap();
            }
        }
    })
    .await
    .expect("the stalled exports' places come back");
    assert_eq!(
        full.lines().count(),
        1 + 6000 + 1,
        "a header, every event and the sign-in"
    );
    let exporting: i64 = sqlx::query_scalar(
        "select count(*) from pg_stat_activity \
         where state = 'active' and query like '%order by occurred_at desc, seq desc%' \
           and datname = current_database() and pid <> pg_backend_pid()",
    )
    .fetch_one(&app.database.pool)
    .await
    .unwrap();
    assert_eq!(exporting, 0, "no abandoned export query still runs");
    drop(stalled);
}

/// Reads a response's status line and headers, and nothing after them.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let read = stream.read(&mut byte).await.unwrap();
        assert_eq!(read, 1, "the connection closed inside the headers");
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

#[tokio::test]
async fn requests_queries_run_under_a_statement_timeout() {
    let database = common::fresh_database().await;
    let serving = vigil_server::database::set_role_pool(&database.pool)
        .await
        .unwrap();
    let timeout: String = sqlx::query_scalar("show statement_timeout")
        .fetch_one(&serving)
        .await
        .unwrap();
    assert_eq!(timeout, "30s");
}
