//! Cross-origin use of the operator's session (issue 17, items 1–3): the stream, sign-in,
//! sign-out and server functions refuse another origin; `--public-url` decides the origin, the
//! cookie's flags and HSTS.

use crate::common;

use common::{TestApp, OPERATOR};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Error as WsError;
use vigil_server::storage::KeyKind;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The status an upgrade of `/api/v1/stream?after=0` gets with these headers (101 if it opened).
async fn stream_status(app: &TestApp, headers: &[(&'static str, String)]) -> u16 {
    let mut request = format!("ws://{}/api/v1/stream?after=0", app.addr)
        .into_client_request()
        .unwrap();
    for (name, value) in headers {
        request.headers_mut().insert(*name, value.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(WsError::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("the upgrade neither opened nor answered: {other}"),
    }
}

#[tokio::test]
async fn a_cookie_stream_must_come_from_vigils_own_origin() {
    let app = TestApp::spawn().await;
    app.ingest(&serde_json::json!({"event_type": "auth.login.failure", "username": "bob"}))
        .await;
    let cookie = app.session_cookie().await;
    let other_port = format!("http://127.0.0.1:{}", app.addr.port() + 1);
    for (origin, expected) in [
        (Some("http://evil.example".to_owned()), 403),
        (Some(other_port), 403),
        (Some("null".to_owned()), 403),
        (None, 403),
        (Some(app.url("")), 101),
    ] {
        let mut headers = vec![("cookie", cookie.clone())];
        if let Some(origin) = &origin {
            headers.push(("origin", origin.clone()));
        }
        assert_eq!(
            stream_status(&app, &headers).await,
            expected,
            "cookie stream from {origin:?}"
        );
    }
    // A read key is not ambient authority: a script may use it from anywhere.
    let read_key = common::create_key(&app.database, "reader", KeyKind::Read).await;
    let keyed = [
        ("authorization", format!("Bearer {read_key}")),
        ("origin", "http://evil.example".to_owned()),
    ];
    assert_eq!(stream_status(&app, &keyed).await, 101);
    assert_eq!(
        stream_status(&app, &[("origin", app.url(""))]).await,
        401,
        "neither key nor cookie"
    );
}

#[tokio::test]
async fn cross_origin_sign_in_sign_out_and_server_functions_are_refused() {
    let app = TestApp::spawn().await;
    let client = no_redirects();
    let form = [("username", OPERATOR.0), ("password", OPERATOR.1)];
    for (name, value) in [
        ("origin", "http://evil.example"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ] {
        let response = client
            .post(app.url("/auth/login"))
            .header(name, value)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "login CSRF with {name}: {value}");
        assert!(!response.headers().contains_key("set-cookie"));
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "cross_origin");
    }
    let sessions: i64 = sqlx::query_scalar("select count(*) from operator_sessions")
        .fetch_one(&app.database.pool)
        .await
        .unwrap();
    assert_eq!(sessions, 0, "no refused sign-in opened a session");

    let cookie = app.session_cookie().await;
    let foreign_logout = client
        .post(app.url("/auth/logout"))
        .header("cookie", &cookie)
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign_logout.status(), 403);
    let foreign_rpc = client
        .post(app.url("/rpc/search_events"))
        .header("cookie", &cookie)
        .header(
            "origin",
            format!("http://127.0.0.1:{}", app.addr.port() + 1),
        )
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(
        foreign_rpc.status(),
        403,
        "server function from another port"
    );
    let still_signed_in = client
        .get(app.url("/api/v1/events"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        still_signed_in.status(),
        200,
        "the refused sign-out ended nothing"
    );
    let own_logout = client
        .post(app.url("/auth/logout"))
        .header("cookie", &cookie)
        .header("origin", app.url(""))
        .send()
        .await
        .unwrap();
    assert_eq!(own_logout.status(), 303);

    // Producers post with a key and no cookie: their origin is nobody's business.
    let ingest = app
        .http
        .post(app.url("/api/v1/events"))
        .bearer_auth(&app.key)
        .header("origin", "http://evil.example")
        .json(&serde_json::json!({"event_type": "auth.logout"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ingest.status(), 201);
}

#[tokio::test]
async fn an_https_public_url_makes_the_cookie_secure_and_host_only_and_sends_hsts() {
    let app = TestApp::spawn_with(|args| {
        args.public_url = Some("https://vigil.example.com".parse().unwrap());
    })
    .await;
    let form = [("username", OPERATOR.0), ("password", OPERATOR.1)];
    let from_listening_address = no_redirects()
        .post(app.url("/auth/login"))
        .header("origin", app.url(""))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        from_listening_address.status(),
        403,
        "the public URL is the origin, not the address behind the proxy"
    );
    let response = no_redirects()
        .post(app.url("/auth/login"))
        .header("origin", "https://vigil.example.com")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("__Host-vigil_session="), "{cookie}");
    assert!(
        cookie.contains("; Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain"), "{cookie}");
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let token = cookie.split(';').next().unwrap();
    let read = no_redirects()
        .get(app.url("/api/v1/events"))
        .header("cookie", token)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200, "the __Host- cookie is the session");

    let plain = TestApp::spawn().await;
    let health = plain.http.get(plain.url("/healthz")).send().await.unwrap();
    assert!(!health.headers().contains_key("strict-transport-security"));
}
