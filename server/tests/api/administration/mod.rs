//! Administration in the dashboard (issue 20): admins create and revoke keys and create,
//! disable and reset operators through the server functions, every operator changes their own
//! password, each change is an event with `source = vigil`, and the CLI sees the same tables.
//! Refusals (viewers, the signed-out, other origins, the serving login's limits) in `refusals`.

mod account;
mod operators;
mod refusals;

use serde_json::Value;
use std::process::Command;

use crate::common::{self, TestApp, OPERATOR};

/// Calls the server function at `/rpc/{endpoint}` as a form post; the status and the body.
pub async fn rpc(
    client: &reqwest::Client,
    app: &TestApp,
    endpoint: &str,
    form: &[(&str, &str)],
) -> (u16, String) {
    let response = client
        .post(app.url(&format!("/rpc/{endpoint}")))
        .form(form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The events Vigil recorded about itself of `event_type`, oldest first.
pub async fn own_events(app: &TestApp, event_type: &str) -> Vec<Value> {
    sqlx::query_scalar(
        "select to_jsonb(e) from events e where source = 'vigil' and event_type = $1 order by seq",
    )
    .bind(event_type)
    .fetch_all(&app.database.pool)
    .await
    .unwrap()
}

/// Runs `vigil ARGS` against the app's database, as the owner would on the server.
pub async fn vigil_cli(app: &TestApp, args: &[&str]) -> String {
    let name = app
        .database
        .pool
        .connect_options()
        .get_database()
        .unwrap()
        .to_owned();
    let any = common::bare_database_url().await;
    let url = format!("{}/{name}", any.rsplit_once('/').unwrap().0);
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .arg("--data-dir")
        .arg(dir.path())
        .env("DATABASE_URL", url)
        .env_remove("VIGIL_APP_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "vigil {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

async fn ingest_status(url: &str, key: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{url}/api/v1/events"))
        .bearer_auth(key)
        .json(&serde_json::json!({"event_type": "auth.logout", "username": "dave"}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn an_admin_creates_a_key_that_works_and_revokes_it_on_every_instance() {
    let app = TestApp::spawn().await;
    let other = app.instance("127.0.0.1:0".parse().unwrap()).await;
    let admin = app.signed_in().await;
    let (status, body) = rpc(
        &admin,
        &app,
        "create_api_key",
        &[("name", " ci-bot "), ("kind", "ingest")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let created: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (created["name"].as_str(), created["kind"].as_str()),
        (Some("ci-bot"), Some("ingest"))
    );
    let key = created["key"].as_str().unwrap().to_owned();
    assert!(vigil_server::auth::looks_like_key(&key), "{key}");
    // Both instances admit it, and so have it cached.
    assert_eq!(ingest_status(&app.url(""), &key).await, 201);
    assert_eq!(ingest_status(&other.url(""), &key).await, 201);

    let listed = vigil_cli(&app, &["keys", "list"]).await;
    let line = listed
        .lines()
        .find(|l| l.starts_with("ci-bot "))
        .expect(&listed);
    assert!(
        line.contains("ingest") && line.trim_end().ends_with('-'),
        "active: {line}"
    );

    let (status, body) = rpc(&admin, &app, "revoke_api_key", &[("name", "ci-bot")]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Revoked key `ci-bot`."), "{body}");
    for url in [app.url(""), other.url("")] {
        common::eventually("the revoked key refused", || {
            let (url, key) = (url.clone(), key.clone());
            async move { (ingest_status(&url, &key).await == 401).then_some(()) }
        })
        .await;
    }
    let (status, body) = rpc(&admin, &app, "revoke_api_key", &[("name", "ci-bot")]).await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body.contains("`name`: no active key named `ci-bot`"),
        "{body}"
    );
    let listed = vigil_cli(&app, &["keys", "list"]).await;
    let line = listed.lines().find(|l| l.starts_with("ci-bot ")).unwrap();
    assert!(!line.trim_end().ends_with('-'), "revoked: {line}");

    let created = own_events(&app, "auth.api_key.created").await;
    let revoked = own_events(&app, "auth.api_key.revoked").await;
    assert_eq!((created.len(), revoked.len()), (1, 1));
    for (event, details) in [
        (
            &created[0],
            serde_json::json!({"by": OPERATOR.0, "target": "ci-bot", "kind": "ingest"}),
        ),
        (
            &revoked[0],
            serde_json::json!({"by": OPERATOR.0, "target": "ci-bot"}),
        ),
    ] {
        assert_eq!(event["username"], OPERATOR.0, "who acted");
        assert_eq!(event["api_key_name"], "ci-bot");
        assert_eq!(event["event_data"], details);
        assert_eq!(event["ip_address"], "127.0.0.1");
        assert_eq!(event["action_result"], "success");
    }
    assert!(
        created[0]["seq"].as_i64() < revoked[0]["seq"].as_i64(),
        "recorded as they happened"
    );
    other.stop().await;
}

#[tokio::test]
async fn a_key_the_dashboard_refuses_says_which_field_and_why() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in().await;
    let (status, body) = rpc(
        &admin,
        &app,
        "create_api_key",
        &[("name", "reader"), ("kind", "read")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let long = "k".repeat(65);
    for (name, kind, code, says) in [
        (
            "reader",
            "read",
            409,
            "`name`: a key named `reader` already exists",
        ),
        ("test-producer", "ingest", 409, "already exists"),
        (
            " Vigil ",
            "ingest",
            400,
            "`name`: `vigil` is reserved for Vigil's own events",
        ),
        (
            "  ",
            "ingest",
            400,
            "`name`: must be 1 to 64 characters (this one has 0)",
        ),
        (long.as_str(), "ingest", 400, "(this one has 65)"),
        ("vigil\u{200B}", "ingest", 400, "may hold only letters"),
        ("writer", "admin", 400, "`kind`: must be ingest or read"),
    ] {
        let (status, body) = rpc(
            &admin,
            &app,
            "create_api_key",
            &[("name", name), ("kind", kind)],
        )
        .await;
        assert_eq!(status, code, "{name}/{kind}: {body}");
        assert!(body.contains(says), "{name}/{kind}: {body}");
    }
    let names: Vec<String> = sqlx::query_scalar("select name from api_keys order by name")
        .fetch_all(&app.database.pool)
        .await
        .unwrap();
    assert_eq!(names, ["reader", "test-producer"]);
    assert_eq!(own_events(&app, "auth.api_key.created").await.len(), 1);
}
