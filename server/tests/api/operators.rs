//! Operator sign-in: the dashboard is private, sessions are safe cookies that end on sign-out or
//! when the operator is disabled, and every sign-in attempt is an audit event of Vigil's own.

use crate::common;

use common::{TestApp, OPERATOR};
use vigil_server::storage::OperatorStore;

/// event_type, username, source, reason, ip.
type SignInRow = (String, String, String, Option<String>, Option<String>);

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn signed_out_visitors_are_sent_to_sign_in() {
    let app = TestApp::spawn().await;
    let client = no_redirects();
    let page = client.get(app.url("/events?user=x")).send().await.unwrap();
    assert_eq!(page.status(), 303);
    assert_eq!(
        page.headers()["location"],
        "/login?next=%2Fevents%3Fuser%3Dx"
    );
    let rpc = client
        .post(app.url("/rpc/search_events"))
        .send()
        .await
        .unwrap();
    assert_eq!(rpc.status(), 401);
    let login = client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(login.status(), 200);
    let read = client.get(app.url("/api/v1/events")).send().await.unwrap();
    assert_eq!(read.status(), 401, "the read API wants a key or a session");
}

#[tokio::test]
async fn a_session_cookie_is_http_only_strict_and_opens_dashboard_and_read_api() {
    let app = TestApp::spawn().await;
    let response = no_redirects()
        .post(app.url("/auth/login"))
        .form(&[
            ("username", OPERATOR.0),
            ("password", OPERATOR.1),
            ("next", "/failures"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/failures");
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain HTTP here");

    let client = app.signed_in().await;
    assert_eq!(
        client
            .get(app.url("/failures"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        client
            .get(app.url("/api/v1/events"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Secure follows --public-url, never a header any client may send.
    let spoofed = no_redirects()
        .post(app.url("/auth/login"))
        .header("x-forwarded-proto", "https")
        .form(&[("username", OPERATOR.0), ("password", OPERATOR.1)])
        .send()
        .await
        .unwrap();
    let cookie = spoofed.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("vigil_session=") && !cookie.contains("Secure"));
}

#[tokio::test]
async fn sign_out_and_disabling_end_the_session() {
    let app = TestApp::spawn().await;
    let client = app.signed_in().await;
    let out = client.post(app.url("/auth/logout")).send().await.unwrap();
    assert_eq!(out.status(), 303);
    assert_eq!(
        client.get(app.url("/")).send().await.unwrap().status(),
        303,
        "signed out"
    );

    let client = app.signed_in().await;
    assert!(OperatorStore::new(app.database.pool.clone())
        .disable(OPERATOR.0)
        .await
        .unwrap());
    assert_eq!(
        client.get(app.url("/")).send().await.unwrap().status(),
        303,
        "disabled: session ended"
    );
    assert!(
        app.sign_in_as(OPERATOR.0, OPERATOR.1).await.is_none(),
        "and cannot sign in again"
    );
}

#[tokio::test]
async fn an_open_redirect_through_next_is_refused() {
    let app = TestApp::spawn().await;
    // Browsers drop the tab and read a backslash as a slash: each is `//evil.example` to them.
    for next in [
        "//evil.example/",
        "/\t/evil.example",
        "/\\evil.example",
        "/\n/evil.example",
    ] {
        let response = no_redirects()
            .post(app.url("/auth/login"))
            .form(&[
                ("username", OPERATOR.0),
                ("password", OPERATOR.1),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["location"], "/", "next={next:?}");
    }
}

#[tokio::test]
async fn every_sign_in_attempt_is_audited_as_vigil() {
    let app = TestApp::spawn().await;
    assert!(app.sign_in_as(OPERATOR.0, "wrong-password").await.is_none());
    assert!(app.sign_in_as("nobody-here", "whatever-pw").await.is_none());
    assert!(app.sign_in_as(OPERATOR.0, OPERATOR.1).await.is_some());
    let rows: Vec<SignInRow> = sqlx::query_as(
        "select event_type, username, source, reason, host(ip_address) from events order by seq",
    )
    .fetch_all(&app.database.pool)
    .await
    .unwrap();
    let summary: Vec<(&str, &str, &str, Option<&str>)> = rows
        .iter()
        .map(|r| (r.0.as_str(), r.1.as_str(), r.2.as_str(), r.3.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            (
                "auth.login.failure",
                "analyst",
                "vigil",
                Some("invalid password")
            ),
            (
                "auth.login.failure",
                "nobody-here",
                "vigil",
                Some("unknown operator")
            ),
            ("auth.login.success", "analyst", "vigil", None),
        ]
    );
    assert!(
        rows.iter().all(|r| r.4.as_deref() == Some("127.0.0.1")),
        "the peer address is recorded"
    );
    // And they are what the failures view shows.
    let page = app
        .signed_in()
        .await
        .get(app.url("/failures"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("nobody-here"));
}

#[tokio::test]
async fn only_admins_see_who_has_access() {
    let app = TestApp::spawn().await;
    vigil_server::storage::OperatorStore::new(app.database.pool.clone())
        .create(
            "vera",
            &vigil_server::auth::hash_password("viewer-password"),
            vigil_server::storage::Role::Viewer,
        )
        .await
        .unwrap();
    let access = |client: reqwest::Client| {
        let url = app.url("/rpc/access");
        async move {
            let response = client.post(url).form(&[("", "")]).send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };

    let (status, body) = access(app.signed_in().await).await;
    assert_eq!(status, 200, "{body}");
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    let keys: Vec<&str> = list["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert!(keys.contains(&"test-producer"), "{keys:?}");
    assert!(
        !body.contains("key_hash") && !body.contains("password"),
        "no secrets: {body}"
    );
    let roles: Vec<(&str, &str)> = list["operators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["username"].as_str().unwrap(), o["role"].as_str().unwrap()))
        .collect();
    assert!(roles.contains(&("vera", "viewer")), "{roles:?}");

    let viewer = app.sign_in_as("vera", "viewer-password").await.unwrap();
    let (status, body) = access(viewer).await;
    assert_ne!(status, 200);
    assert!(body.contains("only admins"), "{body}");
}
