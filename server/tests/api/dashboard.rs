//! The dashboard as the server renders it (no JavaScript): each page shows exactly its filter's
//! rows, links pivot, the detail page shows everything, and event values are escaped.

use crate::common;

use common::TestApp;
use serde_json::json;

/// A page as a signed-in operator gets it; a page that never finishes fails the test after 30 s
/// naming it (one hung once in a full run, and without a bound CI waits for its own limit).
async fn page(app: &TestApp, path: &str) -> String {
    let client = app.signed_in().await;
    let fetch = async {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.text().await.unwrap()
    };
    tokio::time::timeout(std::time::Duration::from_secs(30), fetch)
        .await
        .unwrap_or_else(|_| panic!("{path} did not finish within 30 s"))
}

async fn seeded() -> TestApp {
    let app = TestApp::spawn().await;
    app.ingest(&json!([
        {"event_type": "auth.login.failure", "username": "fail-user", "ip_address": "10.9.8.7", "reason": "Bad password",
         "occurred_at": "2026-02-01T10:00:00Z", "session_id": "s-1"},
        {"event_type": "auth.login.success", "username": "fail-user", "ip_address": "10.9.8.7",
         "occurred_at": "2026-02-01T10:05:00Z", "session_id": "s-1", "event_data": {"device": "laptop"}},
        {"event_type": "auth.mfa.enabled", "username": "mfa-user", "ip_address": "192.0.2.50", "occurred_at": "2026-02-01T11:00:00Z"},
        {"event_type": "auth.api_key.created", "username": "key-user", "api_key_name": "deploy-key", "api_key_id": "k-77",
         "occurred_at": "2026-02-01T12:00:00Z"}
    ]))
    .await;
    app
}

#[tokio::test]
async fn presets_show_only_their_events() {
    let app = seeded().await;
    let failures = page(&app, "/failures").await;
    assert!(failures.contains("fail-user") && failures.contains("Bad password"));
    assert!(!failures.contains("mfa-user") && !failures.contains("key-user"));
    let mfa = page(&app, "/mfa").await;
    assert!(mfa.contains("mfa-user") && !mfa.contains("fail-user"));
    let keys = page(&app, "/api-keys").await;
    assert!(keys.contains("key-user") && keys.contains("deploy-key") && keys.contains("k-77"));
    assert!(!keys.contains("mfa-user"));
}

#[tokio::test]
async fn the_explorer_renders_the_url_filter_and_pivot_links() {
    let app = seeded().await;
    let html = page(&app, "/events?ip=10.0.0.0%2F8").await;
    assert!(html.contains("fail-user") && !html.contains("mfa-user") && !html.contains("key-user"));
    assert!(
        html.contains("href=\"/events?user=fail-user\""),
        "user pivot"
    );
    assert!(html.contains("href=\"/events?ip=10.9.8.7\""), "ip pivot");
    assert!(html.contains("/events?session_fp="), "session pivot");
    let bad = page(&app, "/events?ip=not-an-ip").await;
    assert!(bad.contains("`ip`"), "an invalid filter is explained");
}

#[tokio::test]
async fn the_detail_page_shows_every_field_and_related_events() {
    let app = seeded().await;
    let id: uuid::Uuid =
        sqlx::query_scalar("select id from events where event_type = 'auth.login.success'")
            .fetch_one(&app.database.pool)
            .await
            .unwrap();
    let html = page(&app, &format!("/events/{id}")).await;
    for field in [
        "received_at",
        "session (fingerprint)",
        "api_key_name",
        "\"device\": \"laptop\"",
    ] {
        assert!(html.contains(field), "missing {field}");
    }
    assert!(
        html.contains("Same user, ±1 hour") && html.contains("Bad password"),
        "the failure 5 minutes earlier is related"
    );
    let missing = page(&app, &format!("/events/{}", uuid::Uuid::now_v7())).await;
    assert!(missing.contains("No such event."));
}

#[tokio::test]
async fn event_values_are_escaped_text() {
    let app = TestApp::spawn().await;
    app.ingest(
        &json!({"event_type": "auth.login.failure", "username": "<img src=x onerror=alert(1)>"}),
    )
    .await;
    let html = page(&app, "/failures").await;
    assert!(
        !html.contains("<img src=x"),
        "raw markup must not reach the page"
    );
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
}

#[tokio::test]
async fn failures_show_a_per_minute_chart_and_top_sources_that_pivot() {
    let app = TestApp::spawn().await;
    let now = chrono::Utc::now();
    let mut batch = Vec::new();
    for i in 0..7 {
        let at = (now - chrono::Duration::minutes(i % 3)).to_rfc3339();
        batch.push(json!({"event_type": "auth.login.failure", "username": "victim", "ip_address": "203.0.113.66", "occurred_at": at}));
    }
    batch.push(json!({"event_type": "auth.login.failure", "username": "other", "ip_address": "198.51.100.2"}));
    batch.push(
        json!({"event_type": "auth.login.success", "username": "fine", "ip_address": "192.0.2.9"}),
    );
    app.ingest(&serde_json::Value::Array(batch)).await;

    let html = page(&app, "/failures").await;
    assert!(html.contains("data-testid=\"volume-chart\""));
    let caption = html
        .split("<figcaption>")
        .nth(1)
        .unwrap_or("")
        .split("</figcaption>")
        .next()
        .unwrap_or("");
    assert!(
        caption.contains("failures per 1 min · 8 in range"),
        "per-minute buckets over the last hour: {caption}"
    );
    let top_ips = html
        .split("data-testid=\"top-ip\"")
        .nth(1)
        .expect("a top-IP list");
    let first = top_ips
        .find("203.0.113.66")
        .expect("the attacker is listed");
    let second = top_ips.find("198.51.100.2").expect("the other IP too");
    assert!(first < second, "most failures first");
    assert!(
        top_ips.contains("href=\"/events?ip=203.0.113.66\""),
        "each is a pivot"
    );
    assert!(!top_ips.contains("192.0.2.9"), "successes are not failures");

    // Sign-ins are audited too, so keep to this producer's events.
    let explorer = page(&app, "/events?since=2h&source=test-producer").await;
    let caption = explorer
        .split("<figcaption>")
        .nth(1)
        .unwrap_or("")
        .split("</figcaption>")
        .next()
        .unwrap_or("");
    assert!(
        caption.contains("events per 1 min · 9 in range"),
        "the explorer charts its own filter: {caption}"
    );
}

/// Issue 17, item 13: the widest range a URL can ask for renders a chart of at most
/// `MAX_BUCKETS` bars, and the page is no bigger than a one-day page by more than a little.
#[tokio::test]
async fn a_ten_thousand_year_range_renders_a_bounded_page() {
    let app = seeded().await;
    let widest = page(
        &app,
        "/events?since=0001-01-01T00:00:00Z&until=9999-12-31T00:00:00Z",
    )
    .await;
    let one_day = page(
        &app,
        "/events?since=2026-02-01T00:00:00Z&until=2026-02-02T00:00:00Z",
    )
    .await;
    let bars = widest.matches("<rect").count();
    assert!(
        (1..=vigil_wire::MAX_BUCKETS as usize + 1).contains(&bars),
        "{bars} bars"
    );
    assert!(
        widest.len() < one_day.len() * 2,
        "{} bytes for ten thousand years, {} for a day",
        widest.len(),
        one_day.len()
    );
    assert!(
        widest.contains("fail-user"),
        "the events in range are listed"
    );
}

/// Pages rendered while other apps start in the same process finish. Building an app generates
/// the route list, which suppresses resource loading process-wide while it runs (leptos_server's
/// `SuppressResourceLoad`): a page resource first polled meanwhile waited forever, and two
/// clean-clone test runs hung on it. Each app starts on a runtime of its own, which ends with it.
/// Before the fix the eighth page hung; after it, 200 starts rendered 948 pages.
#[tokio::test]
async fn pages_finish_while_other_apps_start() {
    use vigil_server::database::{login_pool, ServingPools};
    let app = seeded().await;
    let client = app.signed_in().await;
    let owner_options = (*app.database.pool.connect_options()).clone();
    let starting = std::thread::spawn(move || {
        for _ in 0..80 {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let owner = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(2)
                    .connect_lazy_with(owner_options.clone());
                let (login, password) = common::SERVING_LOGIN;
                let serving = login_pool(&owner, login, password).await.unwrap();
                let pools = ServingPools {
                    serving,
                    owner: Some(owner),
                };
                let mut args = vigil_server::config::ServeArgs::on("127.0.0.1:0".parse().unwrap());
                args.no_detections = true;
                let built = vigil_server::http::Application::build(&args, pools).await;
                drop(built.expect("another app builds"));
            });
        }
    });
    let mut rendered = 0;
    while !starting.is_finished() {
        let fetch = async {
            let response = client.get(app.url("/failures")).send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.text().await.unwrap()
        };
        let html = tokio::time::timeout(std::time::Duration::from_secs(10), fetch)
            .await
            .unwrap_or_else(|_| panic!("page {rendered} did not finish while apps started"));
        assert!(html.contains("fail-user"));
        rendered += 1;
    }
    starting.join().unwrap();
    assert!(rendered > 0, "no page was rendered while apps started");
}
