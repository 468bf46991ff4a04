//! Webhooks end to end, against a real receiver on 127.0.0.1:0: alerts arrive signed, in Vigil's
//! JSON or as Slack text, filtered by severity and status change; failing and silent receivers
//! are retried with backoff and finally given up on; and deliveries outlive the instance that
//! queued or began them. The engine is not involved: alerts are committed as it would.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::process::Output;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vigil_server::config::{PublicUrl, ServeArgs};
use vigil_server::database::Database;
use vigil_server::http::Application;
use vigil_server::storage::alerts::{Judgement, NewAlert};
use vigil_server::storage::{
    DeliveryQuery, DeliveryRecord, DeliveryState, EventStore, NewWebhook, WebhookFormat,
    WebhookSecret,
};
use vigil_server::webhooks::{self, WebhookConfig};
use vigil_wire::{Alert, AlertSeverity, AlertStatus};

use crate::common::{bare_database_url, eventually, fresh_database, serving_pools, TestApp};

const VIGIL: &str = env!("CARGO_BIN_EXE_vigil");
const SECRET: &str = "test-webhook-secret";

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers[name].to_str().unwrap()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Default)]
struct ReceiverState {
    requests: Mutex<Vec<Received>>,
    /// The status it answers with (200 unless told).
    status: AtomicU16,
    /// Never answer at all while set.
    silent: AtomicBool,
}

/// An HTTP server of the test's own that records every request.
struct Receiver {
    url: String,
    state: Arc<ReceiverState>,
}

impl Receiver {
    async fn start() -> Receiver {
        let state = Arc::new(ReceiverState::default());
        state.status.store(200, Ordering::SeqCst);
        let router = axum::Router::new()
            .fallback(receive)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Receiver {
            url: format!("http://{addr}/hooks/vigil"),
            state,
        }
    }

    fn answer(&self, status: u16) {
        self.state.status.store(status, Ordering::SeqCst);
    }

    fn silent(&self, silent: bool) {
        self.state.silent.store(silent, Ordering::SeqCst);
    }

    fn received(&self) -> Vec<Received> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Waits until it has received `n` requests, and returns them.
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        eventually(&format!("{n} requests at the receiver"), || async {
            let got = self.received();
            (got.len() >= n).then_some(got)
        })
        .await
    }
}

async fn receive(
    State(state): State<Arc<ReceiverState>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    state
        .requests
        .lock()
        .unwrap()
        .push(Received { headers, body });
    if state.silent.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    StatusCode::from_u16(state.status.load(Ordering::SeqCst)).unwrap()
}

/// Checks `Vigil-Signature` the way a receiver's own code would: HMAC-SHA256 over
/// `"{t}.{body}"`, and a timestamp close to now.
fn assert_signed(request: &Received, secret: &str) {
    let header = request.header("vigil-signature");
    let (t, v1) = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
        .unwrap_or_else(|| panic!("signature header {header:?}"));
    let t: i64 = t.parse().unwrap();
    assert!((Utc::now().timestamp() - t).abs() < 120, "timestamp {t}");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&request.body);
    let expected: String = (mac.finalize().into_bytes().iter())
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, expected, "the signature is HMAC-SHA256 of t.body");
    // The library's own check agrees, and refuses anything else.
    let now = Utc::now().timestamp();
    assert_eq!(
        webhooks::verify(secret, header, &request.body, now, 300),
        Ok(())
    );
    assert!(webhooks::verify("wrong", header, &request.body, now, 300).is_err());
    assert!(webhooks::verify(secret, header, b"{}", now, 300).is_err());
}

fn owner_store(database: &Database) -> EventStore {
    EventStore::new(database.pool.clone())
}

async fn add_webhook(
    store: &EventStore,
    url: &str,
    min_severity: AlertSeverity,
    format: WebhookFormat,
    on_status_change: bool,
) -> i64 {
    let webhook = NewWebhook {
        url: url.to_owned(),
        min_severity,
        format,
        on_status_change,
        secret: WebhookSecret::new(SECRET.to_owned()),
    };
    store
        .add_webhook(&webhook)
        .await
        .expect("the owner adds a webhook")
}

/// Opens an alert as the engine would, committing with the detection cursor as it stands (and
/// again if the engine moved it meanwhile).
async fn open_alerts(store: &EventStore, alerts: &[(AlertSeverity, &str, &str)]) -> Vec<Alert> {
    let now = Utc::now();
    let opened: Vec<NewAlert> = (alerts.iter())
        .map(|(severity, title, key)| NewAlert {
            rule_id: "test.webhooks".to_owned(),
            title: (*title).to_owned(),
            severity: *severity,
            group_key: (*key).to_owned(),
            first_seen: now,
            last_seen: now,
            seqs: vec![1, 2, 3],
            evidence_filter: "type=login".to_owned(),
        })
        .collect();
    loop {
        let cursor = store.detection_cursor().await.unwrap();
        let judgement = Judgement {
            opened: opened.clone(),
            matched: vec![],
            through_seq: cursor,
        };
        if let Some(committed) = store
            .commit_judgement(&judgement, Some(cursor))
            .await
            .unwrap()
        {
            return committed.changed;
        }
    }
}

async fn open_alert(store: &EventStore, severity: AlertSeverity, title: &str, key: &str) -> Alert {
    open_alerts(store, &[(severity, title, key)])
        .await
        .remove(0)
}

async fn deliveries(store: &EventStore, query: DeliveryQuery) -> Vec<DeliveryRecord> {
    store.webhook_deliveries(query, 100).await.unwrap()
}

async fn only_delivery(store: &EventStore, webhook: i64) -> DeliveryRecord {
    let mut found = deliveries(
        store,
        DeliveryQuery {
            webhook: Some(webhook),
            alert: None,
        },
    )
    .await;
    assert_eq!(found.len(), 1, "{found:?}");
    found.remove(0)
}

/// Waits until webhook `webhook`'s only delivery satisfies `done`.
async fn delivery_where(
    store: &EventStore,
    webhook: i64,
    what: &str,
    done: impl Fn(&DeliveryRecord) -> bool,
) -> DeliveryRecord {
    eventually(what, || async {
        let delivery = only_delivery(store, webhook).await;
        done(&delivery).then_some(delivery)
    })
    .await
}

/// Timing for tests: quick polls and claims; retries an hour away unless a test says otherwise,
/// so that a test moves a delivery on by making it due itself.
fn test_timing() -> WebhookConfig {
    WebhookConfig {
        first_retry: Duration::from_secs(3600),
        max_retry: Duration::from_secs(3600),
        give_up_after: Duration::from_secs(26 * 3600),
        timeout: Duration::from_secs(5),
        claim_margin: Duration::from_millis(500),
        poll_every: Duration::from_millis(20),
    }
}

/// A worker under the serving login (the grants it has in production), with `config`.
async fn spawn_worker(database: &Database, config: WebhookConfig) -> tokio::task::JoinHandle<()> {
    let serving = serving_pools(database).await.serving;
    let store = EventStore::with_owner(serving, None);
    let public_url: PublicUrl = "https://vigil.example.com".parse().unwrap();
    tokio::spawn(webhooks::deliver_forever_with(store, public_url, config))
}

/// What waiting an hour would do: the delivery is due now.
async fn make_due(database: &Database, delivery: i64) {
    sqlx::query("update webhook_deliveries set next_attempt_at = now() where id = $1")
        .bind(delivery)
        .execute(&database.pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_opened_alert_reaches_its_webhook_signed_and_linked() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let store = owner_store(&app.database);
    let webhook = add_webhook(
        &store,
        &receiver.url,
        AlertSeverity::Low,
        WebhookFormat::Json,
        false,
    )
    .await;

    let alert = open_alert(
        &store,
        AlertSeverity::High,
        "Password spraying",
        "ip=203.0.113.7",
    )
    .await;

    let request = receiver.wait_for(1).await.remove(0);
    assert_signed(&request, SECRET);
    assert_eq!(request.header("content-type"), "application/json");
    assert_eq!(request.header("vigil-alert-id"), alert.id.to_string());
    assert_eq!(request.header("vigil-alert-revision"), "1");
    let body = request.json();
    assert_eq!(body["event"], "alert.opened");
    assert_eq!(body["link"], app.url(&format!("/alerts/{}", alert.id)));
    let sent: Alert = serde_json::from_value(body["alert"].clone()).unwrap();
    assert_eq!(sent, alert, "the alert as committed");

    let delivery = delivery_where(&store, webhook, "the delivery recorded", |d| {
        d.state == DeliveryState::Delivered
    })
    .await;
    assert_eq!(request.header("vigil-delivery-id"), delivery.id.to_string());
    assert_eq!((delivery.attempts, delivery.last_status), (1, Some(200)));
    assert_eq!(delivery.event, "alert.opened");
    assert_eq!(delivery.last_error, None);
    assert!(delivery.delivered_at.is_some());

    // The alert's detail shows the delivery and how it went.
    let reader = crate::common::create_key(
        &app.database,
        "reader",
        vigil_server::storage::KeyKind::Read,
    )
    .await;
    let detail: serde_json::Value = (app
        .http
        .get(app.url(&format!("/api/v1/alerts/{}", alert.id))))
    .bearer_auth(&reader)
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let shown = &detail["deliveries"][0];
    assert_eq!(
        (shown["webhook_id"].as_i64(), shown["state"].as_str()),
        (Some(webhook), Some("delivered"))
    );
    assert_eq!(
        (shown["attempts"].as_i64(), shown["last_status"].as_i64()),
        (Some(1), Some(200))
    );
}

#[tokio::test]
async fn slack_webhooks_get_text_with_what_attackers_wrote_escaped() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let store = owner_store(&app.database);
    add_webhook(
        &store,
        &receiver.url,
        AlertSeverity::Low,
        WebhookFormat::Slack,
        false,
    )
    .await;

    let alert = open_alert(
        &store,
        AlertSeverity::Critical,
        "Sign-ins for <b>admin</b>",
        "user=<!channel>&<https://evil.example|click>",
    )
    .await;

    let request = receiver.wait_for(1).await.remove(0);
    assert_signed(&request, SECRET);
    let body = request.json();
    assert_eq!(
        body.as_object().unwrap().len(),
        1,
        "Slack's {{\"text\"}} alone: {body}"
    );
    let text = body["text"].as_str().unwrap();
    let link = app.url(&format!("/alerts/{}", alert.id));
    assert_eq!(
        text,
        format!(
            "*[CRITICAL]* Alert opened: Sign-ins for &lt;b&gt;admin&lt;/b&gt;\n\
             Key: user=&lt;!channel&gt;&amp;&lt;https://evil.example|click&gt; · 3 events\n\
             <{link}|Alert #{} in Vigil>",
            alert.id
        )
    );
    assert!(!text.contains("<!channel>") && !text.contains("<https://evil"));
}

#[tokio::test]
async fn webhooks_get_only_alerts_at_or_above_their_minimum_severity() {
    let app = TestApp::spawn().await;
    let (everything, urgent) = (Receiver::start().await, Receiver::start().await);
    let store = owner_store(&app.database);
    add_webhook(
        &store,
        &everything.url,
        AlertSeverity::Low,
        WebhookFormat::Json,
        false,
    )
    .await;
    let urgent_id = add_webhook(
        &store,
        &urgent.url,
        AlertSeverity::High,
        WebhookFormat::Json,
        false,
    )
    .await;

    let medium = open_alert(&store, AlertSeverity::Medium, "Many failures", "user=bob").await;
    let got = everything.wait_for(1).await;
    assert_eq!(got[0].json()["alert"]["id"], medium.id);
    // Deliveries are queued with the alert: none was, so none can be sent.
    let queued = DeliveryQuery {
        webhook: Some(urgent_id),
        alert: None,
    };
    assert!(deliveries(&store, queued).await.is_empty());

    let critical = open_alert(
        &store,
        AlertSeverity::Critical,
        "Admin takeover",
        "user=root",
    )
    .await;
    let got = urgent.wait_for(1).await;
    assert_eq!(got[0].json()["alert"]["id"], critical.id);
    everything.wait_for(2).await;
    assert_eq!(
        urgent.received().len(),
        1,
        "the medium alert never went to the urgent webhook"
    );
}

#[tokio::test]
async fn status_changes_go_only_to_webhooks_that_asked_for_them() {
    let app = TestApp::spawn().await;
    let (follows, opened_only) = (Receiver::start().await, Receiver::start().await);
    let store = owner_store(&app.database);
    add_webhook(
        &store,
        &follows.url,
        AlertSeverity::Low,
        WebhookFormat::Json,
        true,
    )
    .await;
    let quiet = add_webhook(
        &store,
        &opened_only.url,
        AlertSeverity::Low,
        WebhookFormat::Json,
        false,
    )
    .await;

    let alert = open_alert(
        &store,
        AlertSeverity::High,
        "Impossible travel",
        "user=carol",
    )
    .await;
    store
        .change_alert_status(
            alert.id,
            AlertStatus::Acknowledged,
            "analyst",
            Some("on it"),
        )
        .await
        .unwrap();
    store
        .change_alert_status(alert.id, AlertStatus::Closed, "analyst", None)
        .await
        .unwrap();

    let got = follows.wait_for(3).await;
    let mut seen: Vec<(String, String, String)> = (got.iter())
        .map(|r| {
            let body = r.json();
            assert_eq!(
                r.header("vigil-alert-revision"),
                body["alert"]["revision"].to_string()
            );
            (
                body["event"].as_str().unwrap().to_owned(),
                body["alert"]["revision"].to_string(),
                body["alert"]["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    seen.sort_by(|a, b| a.1.cmp(&b.1));
    let expected = [
        ("alert.opened", "1", "open"),
        ("alert.acknowledged", "2", "acknowledged"),
        ("alert.closed", "3", "closed"),
    ];
    assert_eq!(
        seen,
        expected.map(|(e, r, s)| (e.to_owned(), r.to_owned(), s.to_owned()))
    );
    let acknowledged = got
        .iter()
        .map(Received::json)
        .find(|b| b["event"] == "alert.acknowledged");
    let acknowledged = acknowledged.unwrap();
    assert_eq!(acknowledged["alert"]["status_changed_by"], "analyst");
    assert_eq!(acknowledged["alert"]["note"], "on it");

    // The other one was only ever sent the opening.
    let delivery = delivery_where(&store, quiet, "the opening delivered", |d| {
        d.state == DeliveryState::Delivered
    })
    .await;
    assert_eq!(delivery.event, "alert.opened");
    assert_eq!(opened_only.wait_for(1).await.len(), 1);
    assert_eq!(
        deliveries(
            &store,
            DeliveryQuery {
                webhook: None,
                alert: Some(alert.id)
            }
        )
        .await
        .len(),
        4
    );
}

#[tokio::test]
async fn a_receiver_answering_500_is_retried_later_until_it_answers_200() {
    let database = fresh_database().await;
    let store = owner_store(&database);
    let receiver = Receiver::start().await;
    receiver.answer(500);
    let webhook = add_webhook(
        &store,
        &receiver.url,
        AlertSeverity::Low,
        WebhookFormat::Json,
        false,
    )
    .await;
    spawn_worker(&database, test_timing()).await;

    let alert = open_alert(&store, AlertSeverity::Low, "Odd hours", "user=dave").await;
    let failed = delivery_where(&store, webhook, "the first attempt's failure", |d| {
        d.last_status == Some(500)
    })
    .await;
    assert_eq!((failed.state, failed.attempts), (DeliveryState::Pending, 1));
    assert!(
        failed
            .last_error
            .as_deref()
            .unwrap()
            .starts_with("HTTP 500"),
        "{failed:?}"
    );
    // Backed off: the first retry is `first_retry` (an hour here, less up to a fifth) away.
    let wait = failed.next_attempt_at - Utc::now();
    assert!(
        wait > chrono::Duration::minutes(45),
        "next attempt in {wait}"
    );
    assert_eq!(receiver.received().len(), 1, "not retried before it is due");

    receiver.answer(200);
    make_due(&database, failed.id).await;
    let delivered = delivery_where(&store, webhook, "the retry delivered", |d| {
        d.state == DeliveryState::Delivered
    })
    .await;
    assert_eq!((delivered.attempts, delivered.last_status), (2, Some(200)));
    assert_eq!(delivered.last_error, None);

    // Both attempts sent the same delivery, the same bytes, each freshly signed.
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    for request in &got {
        assert_eq!(request.header("vigil-delivery-id"), failed.id.to_string());
        assert_eq!(request.body, got[0].body);
        assert_signed(request, SECRET);
    }
    // The attempts are visible per alert as well as per webhook.
    let by_alert = deliveries(
        &store,
        DeliveryQuery {
            webhook: None,
            alert: Some(alert.id),
        },
    )
    .await;
    assert_eq!(by_alert, vec![delivered]);
}

#[tokio::test]
async fn a_receiver_that_never_answers_is_timed_out_and_retried() {
    let database = fresh_database().await;
    let store = owner_store(&database);
    let receiver = Receiver::start().await;
    receiver.silent(true);
    let webhook = add_webhook(
        &store,
        &receiver.url,
        AlertSeverity::Low,
        WebhookFormat::Json,
        false,
    )
    .await;
    let config = WebhookConfig {
        timeout: Duration::from_millis(500),
        ..test_timing()
    };
    spawn_worker(&database, config).await;

    open_alert(
        &store,
        AlertSeverity::Medium,
        "Slow brute force",
        "ip=198.51.100.2",
    )
    .await;
    let timed_out = delivery_where(&store, webhook, "the attempt to time out", |d| {
        d.last_error.is_some()
    })
    .await;
    assert_eq!(
        timed_out.last_error.as_deref(),
        Some("timed out after 500ms")
    );
    assert_eq!(
        (timed_out.state, timed_out.attempts, timed_out.last_status),
        (DeliveryState::Pending, 1, None)
    );

    receiver.silent(false);
    make_due(&database, timed_out.id).await;
    let delivered = delivery_where(&store, webhook, "the retry delivered", |d| {
        d.state == DeliveryState::Delivered
    })
    .await;
    assert_eq!(delivered.attempts, 2);
    assert_eq!(receiver.received().len(), 2);
}

#[tokio::test]
async fn a_delivery_is_attempted_until_its_retry_period_ends_then_failed() {
    let database = fresh_database().await;
    let store = owner_store(&database);
    let receiver = Receiver::start().await;
    receiver.answer(503);
    let webhook = add_webhook(
        &store,
        &receiver.url,
        AlertSeverity::Low,
        WebhookFormat::Json,
        false,
    )
    .await;
    // Retries an hour apart, but the period ends 5 s after the delivery was made: the second
    // attempt is at its end, and the last.
    let config = WebhookConfig {
        give_up_after: Duration::from_secs(5),
        ..test_timing()
    };
    spawn_worker(&database, config).await;

    open_alert(&store, AlertSeverity::Low, "Token reuse", "session=abc").await;
    let failed = delivery_where(&store, webhook, "the delivery to be given up", |d| {
        d.state == DeliveryState::Failed
    })
    .await;
    assert_eq!((failed.attempts, failed.last_status), (2, Some(503)));
    let period = failed.next_attempt_at - failed.created_at;
    assert!(
        period >= chrono::Duration::seconds(5),
        "the last attempt was at the period's end: {period}"
    );
    assert_eq!(receiver.received().len(), 2);
}

#[tokio::test]
async fn deliveries_queued_with_no_instance_running_are_sent_by_the_next_one() {
    let database = fresh_database().await;
    let store = owner_store(&database);
    let receiver = Receiver::start().await;
    let webhook = add_webhook(
        &store,
        &receiver.url,
        AlertSeverity::Low,
        WebhookFormat::Json,
        false,
    )
    .await;
    let alert = open_alert(
        &store,
        AlertSeverity::High,
        "Queued while down",
        "user=erin",
    )
    .await;
    let queued = only_delivery(&store, webhook).await;
    assert_eq!((queued.state, queued.attempts), (DeliveryState::Pending, 0));

    // An instance starts (production timing, the serving login), and sends it.
    let app = Application::build(
        &ServeArgs::on("127.0.0.1:0".parse().unwrap()),
        serving_pools(&database).await,
    )
    .await
    .unwrap();
    let addr = app.local_addr();
    tokio::spawn(app.run_until(std::future::pending()));
    let request = receiver.wait_for(1).await.remove(0);
    assert_eq!(
        request.json()["link"],
        format!("http://{addr}/alerts/{}", alert.id)
    );
    let delivered = delivery_where(&store, webhook, "the delivery recorded", |d| {
        d.state == DeliveryState::Delivered
    })
    .await;
    assert_eq!(delivered.attempts, 1);
}

#[tokio::test]
async fn an_attempt_cut_short_by_a_dying_worker_is_sent_again_by_another() {
    let database = fresh_database().await;
    let store = owner_store(&database);
    let receiver = Receiver::start().await;
    receiver.silent(true);
    let webhook = add_webhook(
        &store,
        &receiver.url,
        AlertSeverity::Low,
        WebhookFormat::Json,
        false,
    )
    .await;
    // Its claims hold for 2 × 2 s: another worker waits that long before taking over.
    let config = WebhookConfig {
        timeout: Duration::from_secs(2),
        claim_margin: Duration::ZERO,
        ..test_timing()
    };
    let dying = spawn_worker(&database, config.clone()).await;
    open_alert(&store, AlertSeverity::High, "Cut short", "user=frank").await;
    receiver.wait_for(1).await;
    dying.abort();
    let _ = dying.await;

    receiver.silent(false);
    spawn_worker(&database, config).await;
    let delivered = delivery_where(&store, webhook, "the other worker to deliver", |d| {
        d.state == DeliveryState::Delivered
    })
    .await;
    assert_eq!(delivered.attempts, 2, "the cut-short attempt counts");
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].body, got[1].body);
    assert_eq!(got[1].header("vigil-delivery-id"), delivered.id.to_string());
}

#[tokio::test]
async fn two_workers_share_the_deliveries_and_send_none_twice() {
    let database = fresh_database().await;
    let store = owner_store(&database);
    let receiver = Receiver::start().await;
    let webhook = add_webhook(
        &store,
        &receiver.url,
        AlertSeverity::Low,
        WebhookFormat::Json,
        false,
    )
    .await;
    let keys: Vec<String> = (0..40).map(|i| format!("user=u{i}")).collect();
    let alerts: Vec<(AlertSeverity, &str, &str)> = (keys.iter())
        .map(|key| (AlertSeverity::Medium, "Many", key.as_str()))
        .collect();
    open_alerts(&store, &alerts).await;
    let timing = WebhookConfig {
        timeout: Duration::from_secs(10),
        claim_margin: Duration::from_secs(30),
        ..test_timing()
    };
    spawn_worker(&database, timing.clone()).await;
    spawn_worker(&database, timing).await;

    let query = DeliveryQuery {
        webhook: Some(webhook),
        alert: None,
    };
    eventually("all 40 delivered", || async {
        let all = deliveries(&store, query).await;
        (all.len() == 40 && all.iter().all(|d| d.state == DeliveryState::Delivered)).then_some(())
    })
    .await;
    let mut ids: Vec<String> = (receiver.received().iter())
        .map(|r| r.header("vigil-delivery-id").to_owned())
        .collect();
    assert_eq!(ids.len(), 40);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 40, "every delivery sent once");
    assert!(deliveries(&store, query)
        .await
        .iter()
        .all(|d| d.attempts == 1));
}

/// `vigil --database-url URL ARGS`.
async fn vigil(url: &str, args: &[&str]) -> Output {
    tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(VIGIL)
            .arg("--database-url")
            .arg(url)
            .args(args)
            .output(),
    )
    .await
    .expect("the command finishes")
    .expect("vigil runs")
}

async fn vigil_ok(url: &str, args: &[&str]) -> String {
    let output = vigil(url, args).await;
    assert!(
        output.status.success(),
        "vigil {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn the_cli_adds_lists_and_removes_webhooks_and_shows_their_deliveries() {
    let url = bare_database_url().await;
    let database = Database::connect(&url).await.unwrap();
    let store = owner_store(&database);
    let receiver = Receiver::start().await;
    let added = vigil_ok(
        &url,
        &[
            "webhooks",
            "add",
            "--url",
            &receiver.url,
            "--min-severity",
            "medium",
            "--on-status-change",
        ],
    )
    .await;
    let field = |name: &str| {
        (added.lines())
            .find_map(|line| line.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name}= in {added:?}"))
            .to_owned()
    };
    let (id, secret) = (field("id"), field("secret"));
    assert_eq!(secret.len(), 64, "32 random bytes, in hex");
    assert!(secret.bytes().all(|b| b.is_ascii_hexdigit()));

    let alert = open_alert(&store, AlertSeverity::High, "From the CLI", "user=gina").await;
    let pending = vigil_ok(&url, &["webhooks", "deliveries", "--webhook", &id]).await;
    assert!(
        pending
            .lines()
            .nth(1)
            .is_some_and(|l| l.contains("alert.opened")
                && l.contains("pending")
                && l.contains("not attempted yet")),
        "{pending}"
    );

    spawn_worker(&database, test_timing()).await;
    let request = receiver.wait_for(1).await.remove(0);
    assert_signed(&request, &secret);
    let webhook: i64 = id.parse().unwrap();
    delivery_where(&store, webhook, "the delivery recorded", |d| {
        d.state == DeliveryState::Delivered
    })
    .await;

    let listed = vigil_ok(&url, &["webhooks", "list"]).await;
    let line = (listed.lines())
        .find(|l| l.starts_with(&format!("{id} ")))
        .unwrap_or_else(|| panic!("{listed}"));
    let columns: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        &columns[..7],
        [&id, "json", "medium+", "all", "1", "0", "0"],
        "{line}"
    );
    assert!(
        line.contains("delivered: HTTP 200") && line.ends_with(&receiver.url),
        "{line}"
    );
    let by_alert = vigil_ok(
        &url,
        &["webhooks", "deliveries", "--alert", &alert.id.to_string()],
    )
    .await;
    assert!(
        by_alert.contains("delivered") && by_alert.contains("HTTP 200"),
        "{by_alert}"
    );

    vigil_ok(&url, &["webhooks", "remove", &id]).await;
    assert!(!vigil_ok(&url, &["webhooks", "list"])
        .await
        .contains(&receiver.url));
    let again = vigil(&url, &["webhooks", "remove", &id]).await;
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains(&format!("no webhook with id {id}")));
}

#[tokio::test]
async fn the_cli_refuses_a_bad_webhook_url_saying_why() {
    let url = bare_database_url().await;
    for (bad, why) in [
        (
            "ftp://hooks.example.com/x",
            "must start with http:// or https://",
        ),
        ("hooks.example.com/x", "must start with http:// or https://"),
        ("http://", "is not a URL"),
        ("https:///x", "names no host"),
        (
            "https://user:pw@hooks.example.com/",
            "must not carry a user name or password",
        ),
    ] {
        let output = vigil(&url, &["webhooks", "add", "--url", bad]).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{bad} accepted");
        assert!(
            stderr.contains("--url") && stderr.contains(why),
            "{bad}: {stderr}"
        );
    }
    let output = vigil(
        &url,
        &[
            "webhooks",
            "add",
            "--url",
            "https://h.example/",
            "--min-severity",
            "urgent",
        ],
    )
    .await;
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("must be low, medium, high or critical")
    );
    let output = vigil(
        &url,
        &[
            "webhooks",
            "add",
            "--url",
            "https://h.example/",
            "--format",
            "xml",
        ],
    )
    .await;
    assert!(!output.status.success());
    // Nothing was added.
    let database = Database::connect(&url).await.unwrap();
    assert!(owner_store(&database).webhooks().await.unwrap().is_empty());
}
