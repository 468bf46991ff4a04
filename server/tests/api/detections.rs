//! Detections end to end: events posted over HTTP trip the built-in rules, the alerts they raise
//! are read over the API and the live stream, and operators acknowledge and close them.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use vigil_server::detect::history::judge_history;
use vigil_server::detect::rules_file;
use vigil_server::storage::{EventStore, KeyKind};

use crate::common::live::next_json;
use crate::common::{create_key, eventually, TestApp};

fn store(app: &TestApp) -> EventStore {
    EventStore::new(app.database.pool.clone())
}

/// Waits until the engine has judged every committed event.
pub async fn judged(app: &TestApp) {
    let store = store(app);
    eventually("the engine to judge every event", || {
        let store = store.clone();
        async move {
            let head = store.chain_head().await.ok()?.seq;
            (store.detection_cursor().await.ok()? == head).then_some(())
        }
    })
    .await
}

async fn alerts(app: &TestApp, reader: &str, query: &str) -> Vec<Value> {
    let response = app
        .http
        .get(app.url(&format!("/api/v1/alerts?{query}")))
        .bearer_auth(reader)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.unwrap();
    page["alerts"].as_array().unwrap().clone()
}

pub fn at(base: DateTime<Utc>, secs: i64) -> String {
    (base + Duration::seconds(secs)).to_rfc3339()
}

pub fn failure(ip: &str, user: &str, when: String) -> Value {
    json!({"event_type": "auth.login.failure", "ip_address": ip, "username": user, "occurred_at": when})
}

#[tokio::test]
async fn eight_failures_from_one_address_raise_one_alert_that_further_failures_update() {
    let app = TestApp::spawn().await;
    let reader = create_key(&app.database, "reader", KeyKind::Read).await;
    let base = Utc::now() - Duration::minutes(10);
    let ip = "198.51.100.7";
    let seven: Vec<Value> = (0..7)
        .map(|n| failure(ip, &format!("u{n}"), at(base, n * 15)))
        .collect();
    app.ingest(&json!(seven)).await;
    judged(&app).await;
    assert!(
        alerts(&app, &reader, "").await.is_empty(),
        "seven are not eight"
    );

    let eighth = app.ingest(&json!([failure(ip, "u7", at(base, 110))])).await;
    let alert = eventually("the alert", || async {
        alerts(&app, &reader, "rule=brute-force-ip").await.pop()
    })
    .await;
    assert_eq!(alert["group_key"], format!("ip={ip}"));
    assert_eq!(alert["severity"], "high");
    assert_eq!(alert["status"], "open");
    assert_eq!(alert["event_count"], 8);
    let seqs = alert["evidence_seqs"].as_array().unwrap();
    assert_eq!(seqs.len(), 8);
    assert_eq!(seqs.last().unwrap(), &eighth[0]["seq"]);
    let filter = alert["evidence_filter"].as_str().unwrap();
    assert!(
        filter.contains("type=auth.login.failure") && filter.contains(&format!("ip={ip}")),
        "{filter}"
    );
    // The evidence filter reproduces exactly the tripping events in the explorer's API.
    let evidence: Value = (app.http.get(app.url(&format!("/api/v1/events?{filter}"))))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(evidence["events"].as_array().unwrap().len(), 8);

    // While it is open, more failures update it instead of raising another.
    let more: Vec<Value> = (0..3)
        .map(|n| failure(ip, "u0", at(base, 120 + n)))
        .collect();
    app.ingest(&json!(more)).await;
    judged(&app).await;
    let all = alerts(&app, &reader, "").await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["event_count"], 11);
    assert!(all[0]["revision"].as_i64().unwrap() > alert["revision"].as_i64().unwrap());

    // Acknowledged, it still counts; closed, the next attack raises a new one.
    let operator = app.signed_in().await;
    let id = alert["id"].as_i64().unwrap();
    for (status, note) in [
        ("acknowledged", "looking"),
        ("closed", "blocked at the edge"),
    ] {
        let response = operator
            .post(app.url(&format!("/api/v1/alerts/{id}/status")))
            .json(&json!({"status": status, "note": note}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }
    let again: Vec<Value> = (0..8)
        .map(|n| failure(ip, "u1", at(base, 200 + n)))
        .collect();
    app.ingest(&json!(again)).await;
    let open = eventually("a new alert after the close", || async {
        alerts(&app, &reader, "status=open").await.pop()
    })
    .await;
    assert_ne!(open["id"], alert["id"]);
    assert_eq!(open["event_count"], 8);
    let detail: Value = (app.http.get(app.url(&format!("/api/v1/alerts/{id}"))))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = (detail["history"].as_array().unwrap().iter())
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["opened", "acknowledged", "closed"]);
    assert_eq!(detail["alert"]["status_changed_by"], "analyst");
    assert_eq!(detail["alert"]["note"], "blocked at the edge");
    assert_eq!(detail["rule"]["id"], "brute-force-ip");
    assert!(detail["rule"]["description"]
        .as_str()
        .unwrap()
        .contains("password-guessing"));
}

#[tokio::test]
async fn windows_are_event_time_late_events_count_where_they_happened_and_old_ones_expire() {
    let app = TestApp::spawn().await;
    let reader = create_key(&app.database, "reader", KeyKind::Read).await;
    let base = Utc::now() - Duration::hours(2);
    // Eight failures 20 s apart span 140 s: no 120 s window holds eight.
    let spread: Vec<Value> = (0..8)
        .map(|n| failure("198.51.100.20", "a", at(base, n * 20)))
        .collect();
    app.ingest(&json!(spread)).await;
    // Eight within 100 s, posted in shuffled order (a replayed log): they trip.
    let shuffled: Vec<Value> = [70, 10, 90, 0, 30, 50, 20, 100]
        .iter()
        .map(|s| failure("198.51.100.21", "b", at(base, *s)))
        .collect();
    app.ingest(&json!(shuffled)).await;
    judged(&app).await;
    let raised = alerts(&app, &reader, "rule=brute-force-ip").await;
    let keys: Vec<&str> = raised
        .iter()
        .map(|a| a["group_key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["ip=198.51.100.21"]);
    let first: DateTime<Utc> = raised[0]["first_seen"].as_str().unwrap().parse().unwrap();
    assert!(
        (first - base).num_microseconds().unwrap().abs() < 1,
        "{first} vs {base}"
    );
}

#[tokio::test]
async fn each_kind_of_built_in_rule_fires_end_to_end_and_history_judges_the_same() {
    let app = TestApp::spawn().await;
    let reader = create_key(&app.database, "reader", KeyKind::Read).await;
    let base = Utc::now() - Duration::minutes(30);
    let mut events = Vec::new();
    // Password spraying: fifteen usernames from one address within five minutes.
    for n in 0..15 {
        // 20 s apart: no two minutes hold eight, so it is spraying, not brute force.
        events.push(failure(
            "198.51.100.30",
            &format!("sprayed{n}"),
            at(base, n * 20),
        ));
    }
    // Success after failures: five failures for one user, then a success.
    for n in 0..5 {
        events.push(failure(
            &format!("10.1.0.{n}"),
            "carol",
            at(base, 300 + n * 5),
        ));
    }
    events.push(json!({"event_type": "auth.login.success", "username": "carol", "occurred_at": at(base, 340)}));
    // MFA fatigue: five failed challenges, then a passed one.
    for n in 0..5 {
        events.push(json!({"event_type": "auth.mfa.challenge_failure", "username": "dave", "occurred_at": at(base, 400 + n)}));
    }
    events.push(json!({"event_type": "auth.mfa.challenge_success", "username": "dave", "occurred_at": at(base, 420)}));
    events.push(json!({"event_type": "auth.mfa.disabled", "username": "erin", "occurred_at": at(base, 500)}));
    // An API key used from its usual address, then from a new one.
    for (n, ip) in ["10.9.9.9", "10.9.9.9", "203.0.113.99"].iter().enumerate() {
        events.push(json!({"event_type": "auth.api_key.used", "api_key_id": "key-1", "ip_address": ip, "occurred_at": at(base, 600 + n as i64)}));
    }
    // A surge of token validation failures.
    for n in 0..20 {
        events.push(json!({"event_type": "auth.token.validation_failed", "ip_address": "198.51.100.40", "occurred_at": at(base, 700 + n)}));
    }
    app.ingest(&json!(events)).await;
    judged(&app).await;
    let raised = alerts(&app, &reader, "limit=100").await;
    let mut found: Vec<(String, String)> = (raised.iter())
        .map(|a| {
            (
                a["rule_id"].as_str().unwrap().to_owned(),
                a["group_key"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    found.sort();
    let mut expected: Vec<(String, String)> = [
        ("api-key-new-address", "api_key_id=key-1 ip=203.0.113.99"),
        ("mfa-disabled", "user=erin"),
        ("mfa-fatigue", "user=dave"),
        ("password-spraying", "ip=198.51.100.30"),
        ("success-after-failures", "user=carol"),
        ("token-validation-surge", "ip=198.51.100.40"),
    ]
    .iter()
    .map(|(r, k)| (r.to_string(), k.to_string()))
    .collect();
    expected.sort();
    assert_eq!(found, expected);

    // The same rules over the stored events raise the same alerts, from the same events.
    let history = judge_history(
        &store(&app),
        rules_file::defaults(),
        base - Duration::minutes(1),
        false,
    )
    .await
    .unwrap();
    let mut again: Vec<(String, String)> = (history.opened.iter())
        .map(|a| (a.rule_id.clone(), a.group_key.clone()))
        .collect();
    again.sort();
    assert_eq!(again, expected);
    for alert in &history.opened {
        let live = raised
            .iter()
            .find(|a| a["rule_id"] == alert.rule_id.as_str())
            .unwrap();
        let live_seqs: Vec<i64> = (live["evidence_seqs"].as_array().unwrap().iter())
            .map(|s| s.as_i64().unwrap())
            .collect();
        assert_eq!(
            live_seqs[..alert.seqs.len()],
            alert.seqs[..],
            "{}",
            alert.rule_id
        );
    }
}

#[tokio::test]
async fn failed_sign_ins_to_vigil_itself_are_detected_like_any_producers() {
    let app = TestApp::spawn().await;
    let reader = create_key(&app.database, "reader", KeyKind::Read).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for n in 0..8 {
        let response = client
            .post(app.url("/auth/login"))
            .header("origin", app.url(""))
            .form(&[
                ("username", format!("guess{n}")),
                ("password", "wrong".into()),
            ])
            .send()
            .await
            .unwrap();
        assert!(response.status().is_redirection() || response.status() == 429);
    }
    let alert = eventually("the alert on Vigil's own sign-ins", || async {
        alerts(&app, &reader, "rule=brute-force-ip").await.pop()
    })
    .await;
    assert_eq!(alert["group_key"], "ip=127.0.0.1");
}

/// A read key's stream of alerts alone, with `more` query parameters.
async fn alert_stream(
    app: &TestApp,
    reader: &str,
    more: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let url = format!(
        "ws://{}/api/v1/stream?events=false&alerts=true{more}",
        app.addr
    );
    let mut request = url.into_client_request().unwrap();
    let bearer = format!("Bearer {reader}").parse().unwrap();
    request.headers_mut().insert("authorization", bearer);
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

#[tokio::test]
async fn alerts_reach_stream_subscribers_that_ask_and_resume_after_a_change_seq() {
    let app = TestApp::spawn().await;
    let reader = create_key(&app.database, "reader", KeyKind::Read).await;
    let mut socket = alert_stream(&app, &reader, "").await;
    let base = Utc::now();
    let attack: Vec<Value> = (0..8)
        .map(|n| failure("198.51.100.50", "x", at(base, n)))
        .collect();
    app.ingest(&json!(attack)).await;
    let message = loop {
        let message = next_json(&mut socket).await;
        if message["kind"] == "alert" {
            break message;
        }
        assert_eq!(
            message["kind"], "heartbeat",
            "only alerts and heartbeats: {message}"
        );
    };
    assert_eq!(message["alert"]["rule_id"], "brute-force-ip");
    let change_seq = message["alert"]["change_seq"].as_i64().unwrap();

    // A stream resuming from before that change is sent it again first.
    let mut resumed =
        alert_stream(&app, &reader, &format!("&alerts_after={}", change_seq - 1)).await;
    let replayed = loop {
        let message = next_json(&mut resumed).await;
        if message["kind"] != "heartbeat" {
            break message;
        }
    };
    assert_eq!(replayed["kind"], "alert");
    assert_eq!(replayed["alert"]["id"], message["alert"]["id"]);
}

#[tokio::test]
async fn only_readers_read_alerts_and_only_operators_change_them() {
    let app = TestApp::spawn().await;
    let reader = create_key(&app.database, "reader", KeyKind::Read).await;
    let base = Utc::now();
    let attack: Vec<Value> = (0..8)
        .map(|n| failure("198.51.100.60", "y", at(base, n)))
        .collect();
    app.ingest(&json!(attack)).await;
    let alert = eventually("the alert", || async {
        alerts(&app, &reader, "").await.pop()
    })
    .await;
    let id = alert["id"].as_i64().unwrap();
    let status_url = app.url(&format!("/api/v1/alerts/{id}/status"));
    let get = |key: Option<&str>| {
        let mut request = app.http.get(app.url("/api/v1/alerts"));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send()
    };
    assert_eq!(get(None).await.unwrap().status(), 401);
    assert_eq!(
        get(Some(&app.key)).await.unwrap().status(),
        403,
        "an ingest key"
    );
    assert_eq!(get(Some(&reader)).await.unwrap().status(), 200);
    let ack = json!({"status": "acknowledged"});
    for key in [&reader, &app.key] {
        let response = app
            .http
            .post(&status_url)
            .bearer_auth(key)
            .json(&ack)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "keys may not change alerts");
    }
    assert_eq!(
        app.http
            .post(&status_url)
            .json(&ack)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let operator = app.signed_in().await;
    let foreign = operator
        .post(&status_url)
        .header("origin", "https://evil.example")
        .json(&ack)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403, "cross-origin");
    let long = json!({"status": "acknowledged", "note": "x".repeat(2001)});
    let response = operator.post(&status_url).json(&long).send().await.unwrap();
    assert_eq!(response.status(), 422);
    let response = operator
        .post(&status_url)
        .json(&json!({"status": "closed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let reopen = operator
        .post(&status_url)
        .json(&json!({"status": "open"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reopen.status(), 409);
    let missing = operator
        .post(app.url("/api/v1/alerts/999999/status"))
        .json(&ack)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}
