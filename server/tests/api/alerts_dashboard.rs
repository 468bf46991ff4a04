//! Alerts in the dashboard (issue 18): the listing, the detail page and the top bar as the server
//! renders them, and Acknowledge / Close — a POST with the session cookie, so refused from
//! another origin like every other, open to viewers and admins, closed to the signed out.

use crate::common;

use common::{raise_alerts as raise, TestApp, OPERATOR};
use serde_json::json;
use vigil_server::storage::{OperatorStore, Role};
use vigil_wire::{AlertSeverity, MAX_ALERT_NOTE_CHARS};

const CHANGE: &str = "/rpc/change_alert_status";

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn status_of(app: &TestApp, id: i64) -> (String, Option<String>, Option<String>) {
    sqlx::query_as("select status, status_changed_by, note from alerts where id = $1")
        .bind(id)
        .fetch_one(&app.database.pool)
        .await
        .unwrap()
}

fn change_form(id: i64, status: &str, note: &str) -> Vec<(&'static str, String)> {
    vec![
        ("id", id.to_string()),
        ("status", status.to_owned()),
        ("note", note.to_owned()),
    ]
}

#[tokio::test]
async fn a_cross_origin_status_change_is_refused_and_a_same_origin_one_works() {
    let app = TestApp::spawn().await;
    let [id] = raise(
        &app,
        &[("ip=203.0.113.7", AlertSeverity::High, "Brute force")],
    )
    .await[..] else {
        panic!("one alert")
    };
    let cookie = app.session_cookie().await;
    let client = no_redirects();
    let other_port = format!("http://127.0.0.1:{}", app.addr.port() + 1);
    for (name, value) in [
        ("origin", "http://evil.example".to_owned()),
        ("origin", other_port),
        ("origin", "null".to_owned()),
        ("sec-fetch-site", "cross-site".to_owned()),
        ("sec-fetch-site", "same-site".to_owned()),
    ] {
        let response = client
            .post(app.url(CHANGE))
            .header("cookie", &cookie)
            .header(name, &value)
            .form(&change_form(id, "closed", "csrf"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "status change with {name}: {value}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "cross_origin");
    }
    // Nor through a GET, which the origin check lets by: the function answers POST only.
    let by_get = client
        .get(app.url(&format!("{CHANGE}?id={id}&status=closed")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(by_get.status(), 405, "a GET changes nothing");
    assert_eq!(status_of(&app, id).await, ("open".into(), None, None));

    let response = client
        .post(app.url(CHANGE))
        .header("cookie", &cookie)
        .header("origin", app.url(""))
        .header("sec-fetch-site", "same-origin")
        .form(&change_form(id, "acknowledged", "looking into it"))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    let alert: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(alert["status"], "acknowledged");
    assert_eq!(
        status_of(&app, id).await,
        (
            "acknowledged".into(),
            Some(OPERATOR.0.into()),
            Some("looking into it".into())
        ),
        "in the signed-in operator's name"
    );
    let history: Vec<(String, String)> =
        sqlx::query_as("select action, by_whom from alert_history where alert_id = $1 order by at")
            .bind(id)
            .fetch_all(&app.database.pool)
            .await
            .unwrap();
    assert_eq!(
        history.last().unwrap(),
        &("acknowledged".to_owned(), OPERATOR.0.to_owned())
    );
}

#[tokio::test]
async fn viewers_and_admins_may_change_a_status_and_the_signed_out_may_not() {
    let app = TestApp::spawn().await;
    let ids = raise(
        &app,
        &[
            ("ip=203.0.113.8", AlertSeverity::Medium, "One"),
            ("ip=203.0.113.9", AlertSeverity::Low, "Two"),
        ],
    )
    .await;
    OperatorStore::new(app.database.pool.clone())
        .create(
            "vera",
            &vigil_server::auth::hash_password("viewer-password"),
            Role::Viewer,
        )
        .await
        .unwrap();

    let anonymous = no_redirects()
        .post(app.url(CHANGE))
        .header("origin", app.url(""))
        .form(&change_form(ids[0], "closed", ""))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(status_of(&app, ids[0]).await.0, "open");

    let viewer = app.sign_in_as("vera", "viewer-password").await.unwrap();
    let response = viewer
        .post(app.url(CHANGE))
        .form(&change_form(
            ids[0],
            "closed",
            "false positive: our scanner",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    assert_eq!(
        status_of(&app, ids[0]).await,
        (
            "closed".into(),
            Some("vera".into()),
            Some("false positive: our scanner".into())
        )
    );

    let admin = app.signed_in().await;
    let response = admin
        .post(app.url(CHANGE))
        .form(&change_form(ids[1], "acknowledged", "   "))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    assert_eq!(
        status_of(&app, ids[1]).await,
        ("acknowledged".into(), Some(OPERATOR.0.into()), None),
        "a blank note is no note"
    );
}

#[tokio::test]
async fn refused_changes_say_why() {
    let app = TestApp::spawn().await;
    let ids = raise(&app, &[("ip=203.0.113.10", AlertSeverity::High, "Brute")]).await;
    let admin = app.signed_in().await;
    let change = |status: &str, note: String| {
        let request = admin
            .post(app.url(CHANGE))
            .form(&change_form(ids[0], status, &note));
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let (status, body) = change("closed", "x".repeat(MAX_ALERT_NOTE_CHARS + 1)).await;
    assert_eq!(status, 400, "the operator's error, not the server's");
    assert!(
        body.contains(&format!(
            "`note`: at most {MAX_ALERT_NOTE_CHARS} characters (this one has {})",
            MAX_ALERT_NOTE_CHARS + 1
        )),
        "{body}"
    );
    let (status, body) = change("open", String::new()).await;
    assert_eq!(status, 400);
    assert!(
        body.contains("`status`: must be acknowledged or closed"),
        "{body}"
    );
    assert_eq!(status_of(&app, ids[0]).await.0, "open", "nothing changed");

    let longest = "é".repeat(MAX_ALERT_NOTE_CHARS);
    let (status, body) = change("closed", longest.clone()).await;
    assert_eq!(
        status, 200,
        "the limit counts characters, not bytes: {body}"
    );
    assert_eq!(status_of(&app, ids[0]).await.2, Some(longest));
    let (status, body) = change("acknowledged", String::new()).await;
    assert_eq!(status, 409);
    assert!(
        body.contains("an alert that is closed cannot become acknowledged"),
        "{body}"
    );
    let missing = admin
        .post(app.url(CHANGE))
        .form(&change_form(ids[0] + 1000, "closed", ""))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let missing = missing.text().await.unwrap();
    assert!(missing.contains("no such alert"), "{missing}");
}

async fn page(client: &reqwest::Client, app: &TestApp, path: &str) -> String {
    let response = client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

#[tokio::test]
async fn the_pages_list_alerts_in_order_count_them_and_show_one_as_text() {
    let app = TestApp::spawn().await;
    let client = app.signed_in().await;
    let home = page(&client, &app, "/").await;
    assert!(
        home.contains("data-testid=\"alerts-count\"") && home.contains("no open alerts"),
        "the top bar counts even nothing"
    );
    app.ingest(&json!([
        {"event_type": "auth.login.failure", "username": "evidence-user", "ip_address": "203.0.113.11"},
        {"event_type": "auth.login.failure", "username": "bystander", "ip_address": "203.0.113.12"}
    ]))
    .await;
    let hostile = "<img src=x onerror=alert(1)>";
    let ids = raise(
        &app,
        &[
            ("ip=203.0.113.11", AlertSeverity::Medium, hostile),
            ("ip=203.0.113.12", AlertSeverity::Critical, "Worst first"),
            ("ip=203.0.113.13", AlertSeverity::Low, "Closed last"),
        ],
    )
    .await;
    let closer = client
        .post(app.url(CHANGE))
        .form(&change_form(ids[2], "closed", ""))
        .send()
        .await
        .unwrap();
    assert_eq!(closer.status(), 200);

    let listing = page(&client, &app, "/alerts").await;
    assert!(!listing.contains(hostile), "values are text, never HTML");
    assert!(listing.contains("&lt;img src=x onerror=alert(1)&gt;"));
    let worst = listing.find("Worst first").unwrap();
    let medium = listing.find("&lt;img").unwrap();
    let closed = listing.find("Closed last").unwrap();
    assert!(
        worst < medium && medium < closed,
        "not closed, worst, newest"
    );
    assert_eq!(listing.matches("data-testid=\"alert-row\"").count(), 3);
    assert!(
        listing.contains("data-count=\"2\"") && listing.contains("worst-critical"),
        "two not closed, the worst critical"
    );

    let narrowed = page(&client, &app, "/alerts?severity=medium&key=.11").await;
    assert_eq!(narrowed.matches("data-testid=\"alert-row\"").count(), 1);
    let refused = page(&client, &app, "/alerts?status=gone").await;
    assert!(refused.contains("`status`: must be open, acknowledged or closed"));

    let detail = page(&client, &app, &format!("/alerts/{}", ids[0])).await;
    assert!(!detail.contains(hostile));
    assert!(detail.contains("brute-force-ip") && detail.contains("ip=203.0.113.11"));
    assert!(
        detail.contains("href=\"/events?type=auth.login.failure&amp;ip=203.0.113.11\""),
        "open in explorer"
    );
    assert!(detail.contains("evidence-user") && !detail.contains("bystander"));
    assert!(
        detail.contains("data-testid=\"ack-button\"")
            && detail.contains("data-testid=\"alert-note\"")
    );
    let closed_detail = page(&client, &app, &format!("/alerts/{}", ids[2])).await;
    assert!(
        !closed_detail.contains("data-testid=\"close-button\""),
        "nothing left to do"
    );
    let missing = page(&client, &app, "/alerts/999999").await;
    assert!(missing.contains("No such alert."));
}

#[tokio::test]
async fn the_listing_pages_with_its_cursor() {
    let app = TestApp::spawn().await;
    let keys: Vec<String> = (0..51).map(|n| format!("ip=192.0.2.{n}")).collect();
    let alerts: Vec<(&str, AlertSeverity, &str)> = keys
        .iter()
        .map(|k| (k.as_str(), AlertSeverity::High, "Paged"))
        .collect();
    raise(&app, &alerts).await;
    let client = app.signed_in().await;
    let first = page(&client, &app, "/alerts?rule=brute-force-ip").await;
    assert_eq!(first.matches("data-testid=\"alert-row\"").count(), 50);
    let start = first
        .find("data-testid=\"next-alerts\"")
        .map(|at| first[..at].rfind("href=\"").unwrap() + 6);
    let href = &first[start.expect("a next link")..];
    let href = href[..href.find('"').unwrap()].replace("&amp;", "&");
    assert!(href.starts_with("?rule=brute-force-ip&cursor="), "{href}");
    let second = page(&client, &app, &format!("/alerts{href}")).await;
    assert_eq!(second.matches("data-testid=\"alert-row\"").count(), 1);
    assert!(!second.contains("data-testid=\"next-alerts\""));
    let bad = page(&client, &app, "/alerts?cursor=nonsense").await;
    assert!(bad.contains("`cursor`"));
}
