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

mod cli;
mod content;
mod retries;

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
