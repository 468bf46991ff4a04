//! Access that ends ends everywhere, and junk credentials cost nothing (issue 17, items 9, 10,
//! 16): open streams close on revocation, sign-out or disabling; malformed bearer tokens never
//! reach the database; every response carries the security headers.

use crate::common;

use common::{TestApp, OPERATOR};
use futures::StreamExt;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use vigil_server::storage::{KeyKind, OperatorStore};

/// One recheck period (15 s) and some slack.
const WITHIN_A_HEARTBEAT: Duration = Duration::from_secs(25);

type Socket = common::live::WsStream;

async fn open_stream(app: &TestApp, header: (&'static str, String)) -> Socket {
    let mut request = format!("ws://{}/api/v1/stream", app.addr)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert(header.0, header.1.parse().unwrap());
    request
        .headers_mut()
        .insert("origin", app.url("").parse().unwrap());
    tokio_tungstenite::connect_async(request)
        .await
        .expect("the stream opens")
        .0
}

/// Reads until the server closes; returns the close code and reason.
async fn closed_by_server(socket: &mut Socket) -> (CloseCode, String) {
    let reading = async {
        while let Some(message) = socket.next().await {
            if let Ok(Message::Close(frame)) = message {
                let frame = frame.expect("the close says why");
                return (frame.code, frame.reason.to_string());
            }
        }
        panic!("the connection dropped without a close frame");
    };
    tokio::time::timeout(WITHIN_A_HEARTBEAT, reading)
        .await
        .expect("the stream closes within a heartbeat")
}

#[tokio::test]
async fn a_revoked_read_key_loses_its_open_stream() {
    let app = TestApp::spawn().await;
    let key = common::create_key(&app.database, "dashboard-script", KeyKind::Read).await;
    let mut socket = open_stream(&app, ("authorization", format!("Bearer {key}"))).await;
    assert!(app.keys().revoke("dashboard-script").await.unwrap());
    let (code, reason) = closed_by_server(&mut socket).await;
    assert_eq!(code, CloseCode::Policy);
    assert!(reason.contains("revoked"), "{reason}");
}

#[tokio::test]
async fn signing_out_ends_the_sessions_stream() {
    let app = TestApp::spawn().await;
    let cookie = app.session_cookie().await;
    let mut socket = open_stream(&app, ("cookie", cookie.clone())).await;
    let out = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url("/auth/logout"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    let (code, reason) = closed_by_server(&mut socket).await;
    assert_eq!(code, CloseCode::Policy);
    assert!(reason.contains("session ended"), "{reason}");
}

#[tokio::test]
async fn disabling_an_operator_ends_their_stream() {
    let app = TestApp::spawn().await;
    let cookie = app.session_cookie().await;
    let mut socket = open_stream(&app, ("cookie", cookie)).await;
    assert!(OperatorStore::new(app.database.pool.clone())
        .disable(OPERATOR.0)
        .await
        .unwrap());
    assert_eq!(closed_by_server(&mut socket).await.0, CloseCode::Policy);
}

#[tokio::test]
async fn malformed_bearer_tokens_are_refused_without_the_database() {
    let (app, mut cluster) = TestApp::spawn_on_own_cluster("malformed-bearer").await;
    cluster.stop();
    let well_formed_unknown = format!("vigil_{}", "a".repeat(40));
    let get = |token: String| {
        app.http
            .get(app.url("/api/v1/events"))
            .header("authorization", format!("Bearer {token}"))
            .send()
    };
    for junk in ["x", "vigil_short", "' or 1=1 --", &"z".repeat(4000)] {
        let response = get(junk.to_owned()).await.unwrap();
        assert_eq!(
            response.status(),
            401,
            "`{}…` answered without a database",
            &junk[..1]
        );
    }
    let asked = get(well_formed_unknown).await.unwrap();
    assert_eq!(
        asked.status(),
        503,
        "a token in Vigil's format does need the (stopped) database"
    );
    tokio::task::spawn_blocking(move || cluster.start())
        .await
        .unwrap();
}

#[tokio::test]
async fn pages_api_answers_and_exports_carry_the_security_headers() {
    let app = TestApp::spawn().await;
    let client = app.signed_in().await;
    let page = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = page.text().await.unwrap();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("the page's policy carries a nonce");
    assert!(
        body.contains(&format!("nonce=\"{nonce}\"")),
        "the hydration script carries the policy's nonce"
    );
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains(" 'unsafe-eval'"),
        "{csp}"
    );
    for path in [
        "/login",
        "/api/v1/events",
        "/api/v1/events/export.csv",
        "/api/v1/events/export.ndjson",
        "/healthz",
    ] {
        let response = client.get(app.url(path)).send().await.unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{path}");
        assert_eq!(headers["cache-control"], "no-store", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert!(
            (headers["content-security-policy"].to_str().unwrap())
                .contains("frame-ancestors 'none'"),
            "{path}"
        );
    }
}
