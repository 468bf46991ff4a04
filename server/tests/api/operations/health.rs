//! `/livez` and `/readyz`: anyone may ask; readiness follows the database.

use crate::common::TestApp;
use serde_json::{json, Value};
use std::time::Duration;

async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    let response = app.http.get(app.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn ready_names_its_checks_and_fails_while_the_database_is_gone() {
    let (app, mut cluster) = TestApp::spawn_on_own_cluster("readyz").await;
    let all_ok = json!({"database": "ok", "migrations": "ok", "writer": "ok", "shutdown": "ok"});
    assert_eq!(
        get(&app, "/readyz").await,
        (200, json!({"status": "ok", "checks": all_ok}))
    );
    assert_eq!(get(&app, "/livez").await.0, 200);

    cluster.stop();
    let (status, body) = get(&app, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "not ready");
    assert_eq!(body["checks"]["database"], "unavailable");
    assert_eq!(body["checks"]["writer"], "ok");
    let (status, body) = get(&app, "/livez").await;
    assert_eq!(
        (status, body["checks"]["process"].as_str()),
        (200, Some("ok"))
    );

    cluster.start();
    let back = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if get(&app, "/readyz").await.0 == 200 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(back.is_ok(), "ready again once the database is back");
}
