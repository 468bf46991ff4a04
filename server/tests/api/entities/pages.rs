//! The entity pages over HTTP: they render for a signed-in viewer, with the URL's range and
//! path segment, refuse the signed out and other origins, and show every value as text.

use chrono::Duration;
use serde_json::{json, Value};
use vigil_app::filters::{ip_href, user_href};

use super::{at, from, now};
use crate::common::TestApp;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn page(client: &reqwest::Client, app: &TestApp, path: &str) -> String {
    let response = client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

#[tokio::test]
async fn the_pages_render_for_a_signed_in_viewer_and_refuse_everyone_else() {
    let app = TestApp::spawn().await;
    let t = now() - Duration::minutes(5);
    let odd = "a/b?c#d é";
    let mut events = from("203.0.113.7", "victim", t - Duration::minutes(10), 4);
    events.extend(from("203.0.113.8", "other", t, 2));
    events.push(
        json!({"event_type": "auth.login.success", "username": odd, "ip_address": "2001:db8::5",
                       "occurred_at": at(t)}),
    );
    app.ingest(&Value::Array(events)).await;
    let client = app.signed_in().await;

    let ip = page(&client, &app, "/ips/203.0.113.7").await;
    assert!(
        ip.contains(r#"data-testid="counted">4<"#),
        "four events in 7 days"
    );
    assert!(
        ip.contains("Users it tried") && ip.contains(&format!("href=\"{}\"", user_href("victim0")))
    );
    assert!(
        ip.contains("Neighbours in 203.0.113.0/24") && ip.contains(r#"href="/ips/203.0.113.8""#)
    );
    assert!(
        ip.contains("href=\"/events?ip=203.0.113.7&amp;since=7d\""),
        "the explorer pivot"
    );
    let short = page(&client, &app, "/ips/203.0.113.7?since=1m").await;
    assert!(
        short.contains(r#"data-testid="counted">0<"#),
        "the URL's range"
    );

    let user = page(&client, &app, &user_href(odd)).await;
    assert!(
        user.contains(r#"data-testid="counted">1<"#),
        "{odd} round-trips through the path"
    );
    assert!(user.contains(&format!("href=\"{}\"", ip_href("2001:db8::5"))));

    // The event's own page links to who and where.
    let id: uuid::Uuid = sqlx::query_scalar("select id from events where username = $1")
        .bind(odd)
        .fetch_one(&app.database.pool)
        .await
        .unwrap();
    let detail = page(&client, &app, &format!("/events/{id}")).await;
    for href in [user_href(odd), ip_href("2001:db8::5")] {
        assert!(detail.contains(&format!("href=\"{href}\"")), "{href}");
    }

    let bad = page(&client, &app, "/ips/not-an-ip").await;
    assert!(bad.contains("not an IP address"), "explained, not a 500");

    let signed_out = no_redirects();
    let redirected = signed_out
        .get(app.url("/users/alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(redirected.status(), 303);
    assert_eq!(
        redirected.headers()["location"],
        "/login?next=%2Fusers%2Falice"
    );
    let rpc = signed_out
        .post(app.url("/rpc/entity_overview"))
        .header("content-type", "application/json")
        .body(r#"{"entity":{"User":"alice"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(rpc.status(), 401);

    let cookie = app.session_cookie().await;
    let rpc = |origin: String| {
        no_redirects()
            .post(app.url("/rpc/entity_overview"))
            .header("cookie", &cookie)
            .header("origin", origin)
            .header("content-type", "application/json")
            .body(r#"{"entity":{"Ip":"203.0.113.7"}}"#)
            .send()
    };
    assert_eq!(
        rpc("http://evil.example".into()).await.unwrap().status(),
        403
    );
    let own = rpc(app.url("")).await.unwrap();
    assert_eq!(own.status(), 200);
    let body: Value = own.json().await.unwrap();
    assert_eq!(body["profile"]["counted"], 4);
}

#[tokio::test]
async fn a_hostile_username_renders_as_text() {
    let app = TestApp::spawn().await;
    let hostile = r#"<script>alert("x")</script>'"../"#;
    app.ingest(&json!({"event_type": "auth.login.failure", "username": hostile,
                        "user_agent": "<img src=x onerror=alert(1)>", "ip_address": "198.51.100.4"}))
        .await;
    let client = app.signed_in().await;
    for path in [user_href(hostile), ip_href("198.51.100.4")] {
        let html = page(&client, &app, &path).await;
        assert!(
            !html.contains("<script>alert"),
            "{path}: raw markup reached the page"
        );
        assert!(!html.contains("<img src=x"), "{path}");
        assert!(
            html.contains("&lt;script&gt;alert"),
            "{path}: shown as text"
        );
    }
    let user = page(&client, &app, &user_href(hostile)).await;
    assert!(user.contains(r#"data-testid="counted">1<"#));
}
