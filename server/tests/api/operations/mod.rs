//! Issue 19's operations surface: `/metrics` (who may scrape it, and that it counts what
//! happened), `/livez` and `/readyz`, and JSON logs.

mod health;
mod logs;

use crate::common::{self, live, TestApp};
use serde_json::json;
use std::time::Duration;
use vigil_server::storage::KeyKind;

/// The value of the sample `name` (with its labels, exactly as rendered), if present.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

async fn scrape(app: &TestApp, key: &str) -> String {
    let response = (app.http.get(app.url("/metrics")).bearer_auth(key))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    response.text().await.unwrap()
}

#[tokio::test]
async fn on_the_main_listener_only_a_read_key_may_scrape() {
    let app = TestApp::spawn().await;
    let read = common::create_key(&app.database, "prometheus", KeyKind::Read).await;
    let anonymous = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let ingest = (app.http.get(app.url("/metrics")).bearer_auth(&app.key))
        .send()
        .await
        .unwrap();
    assert_eq!(ingest.status(), 403, "an ingest key may not read");
    // A signed-in operator's cookie is a browser's credential, not a scraper's.
    let browser = app.signed_in().await;
    let cookie = browser.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(cookie.status(), 401);
    assert!(scrape(&app, &read)
        .await
        .contains("vigil_events_accepted_total"));
}

#[tokio::test]
async fn metrics_count_ingest_requests_streams_and_the_pool_without_unbounded_labels() {
    let app = TestApp::spawn().await;
    let read = common::create_key(&app.database, "prometheus", KeyKind::Read).await;
    let id = uuid::Uuid::now_v7();
    let secret_user = "metrics-user-7f3a";
    app.ingest(&json!([
        {"event_type": "auth.login.failure", "username": secret_user, "ip_address": "198.51.100.77"},
        {"event_type": "auth.logout", "username": secret_user},
    ]))
    .await;
    let once = json!({"event_id": id, "event_type": "auth.login.success", "username": "bob"});
    app.ingest(&once).await;
    let again = app.ingest(&once).await;
    assert_eq!(again[0]["duplicate"], true);
    let invalid = app.post_json(&json!({"event_type": "auth.nonsense"})).await;
    assert_eq!(invalid.status(), 422);
    let unauthorized = (app
        .http
        .post(app.url("/api/v1/events"))
        .bearer_auth("vgl_nope"))
    .json(&json!({"event_type": "auth.logout"}))
    .send()
    .await
    .unwrap();
    assert_eq!(unauthorized.status(), 401);
    let mut stream = live::follow(&app, "type=auth.logout")
        .await
        .expect("a stream");

    // The stream is counted once its socket is served: await that, with a timeout.
    let text = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let text = scrape(&app, &read).await;
            if sample(&text, "vigil_live_connections") == Some(1.0) {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the open stream is counted");
    assert_eq!(sample(&text, "vigil_events_accepted_total"), Some(3.0));
    assert_eq!(sample(&text, "vigil_events_duplicate_total"), Some(1.0));
    let rejected = |reason: &str| format!("vigil_events_rejected_total{{reason=\"{reason}\"}}");
    assert_eq!(sample(&text, &rejected("invalid_events")), Some(1.0));
    assert_eq!(sample(&text, &rejected("unauthorized")), Some(1.0));
    let created = "vigil_http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/events\",status=\"201\"}";
    assert_eq!(sample(&text, created), Some(3.0), "{text}");
    assert_eq!(sample(&text, "vigil_writer_group_events_sum"), Some(4.0));
    assert!(sample(&text, "vigil_writer_commit_duration_seconds_count") >= Some(3.0));
    assert_eq!(sample(&text, "vigil_writer_queued_events"), Some(0.0));
    assert_eq!(sample(&text, "vigil_db_pool_max_connections"), Some(16.0));
    assert!(sample(&text, "vigil_db_pool_connections{state=\"idle\"}").is_some());
    // Request paths are templates; no user, address or key reaches a label.
    for unbounded in [secret_user, "198.51.100.77", &read, &id.to_string()] {
        assert!(!text.contains(unbounded), "{unbounded} in the metrics");
    }
    let read_page = app.url(&format!("/api/v1/events/{id}"));
    app.http
        .get(read_page)
        .bearer_auth(&read)
        .send()
        .await
        .unwrap();
    // An event published to a watched stream has its lag measured.
    app.ingest(&json!({"event_type": "auth.logout"})).await;
    let delivered = loop {
        let message = live::next_json(&mut stream).await;
        if message["kind"] != "heartbeat" {
            break message;
        }
    };
    assert_eq!(
        delivered["event"]["event_type"], "auth.logout",
        "{delivered}"
    );
    let text = scrape(&app, &read).await;
    assert!(sample(&text, "vigil_live_publish_lag_seconds_count") >= Some(1.0));
    let by_template = "vigil_http_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/events/{id}\",status=\"200\"}";
    assert_eq!(sample(&text, by_template), Some(1.0), "{text}");
}

#[tokio::test]
async fn the_metrics_listener_serves_metrics_without_a_key_and_nothing_else() {
    let app =
        TestApp::spawn_with(|args| args.metrics_addr = Some("127.0.0.1:0".parse().unwrap())).await;
    let addr = app.metrics_addr.expect("a metrics listener");
    app.ingest(&json!({"event_type": "auth.logout"})).await;
    let text = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(text.status(), 200);
    let text = text.text().await.unwrap();
    assert_eq!(sample(&text, "vigil_events_accepted_total"), Some(1.0));
    for path in ["/api/v1/events", "/", "/healthz"] {
        let other = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
        assert_eq!(other.status(), 404, "{path} is not on the metrics listener");
    }
}
