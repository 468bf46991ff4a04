//! The Rust client SDK (`vigil_wire::client`) against a real vigil: every seed call stores its
//! type, fields and defaults; retries after a lost answer store once; 4xx are final;
//! `Retry-After` is obeyed; the buffered client delivers or reports every event.

mod common;
#[path = "sdk/proxy.rs"]
mod proxy;

use chrono::{DateTime, TimeZone, Utc};
use common::TestApp;
use proxy::{Conduct, Proxy};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use uuid::Uuid;
use vigil_server::ingest::session_fingerprint;
use vigil_wire::client::{
    AuditClient, BufferConfig, BufferError, BufferedAuditClient, ClientError, RetryPolicy,
};
use vigil_wire::{ActionResult, EventType, IngestReceipt, Severity};

fn fast_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        initial_backoff: Duration::from_millis(5),
        ..RetryPolicy::default()
    }
}

fn direct_client(app: &TestApp) -> AuditClient {
    AuditClient::new(format!("http://{}", app.addr), &app.key).unwrap()
}

#[derive(sqlx::FromRow, Debug)]
struct Row {
    event_type: String,
    action: String,
    action_result: String,
    severity: String,
    user_id: Option<String>,
    username: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    session_fingerprint: Option<String>,
    mfa_used: Option<bool>,
    reason: Option<String>,
    error_message: Option<String>,
    token_type: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    client_id: Option<String>,
    scope: Option<String>,
    forced: Option<bool>,
    api_key_id: Option<String>,
    api_key_name: Option<String>,
    event_data: Value,
}

async fn stored(app: &TestApp, receipt: &IngestReceipt) -> Row {
    assert!(!receipt.duplicate);
    sqlx::query_as(
        "select event_type, action, action_result, severity, user_id, username,
                host(ip_address) as ip, user_agent, session_fingerprint, mfa_used, reason,
                error_message, token_type, expires_at, client_id, scope, forced, api_key_id,
                api_key_name, event_data
         from events where id = $1",
    )
    .bind(receipt.id)
    .fetch_one(&app.database.pool)
    .await
    .unwrap()
}

/// Type, action, result and severity as stored.
fn kind(row: &Row) -> [&str; 4] {
    [
        &row.event_type,
        &row.action,
        &row.action_result,
        &row.severity,
    ]
}

#[tokio::test]
async fn every_seed_call_stores_its_type_fields_and_defaults() {
    let app = TestApp::spawn().await;
    let audit = direct_client(&app);
    let ip = "203.0.113.7";
    let expires = Utc.with_ymd_and_hms(2030, 1, 31, 12, 0, 0).unwrap();

    let r = audit
        .log_login_success(42, "alice", ip)
        .user_agent("Mozilla/5.0")
        .session_id("sess-1")
        .mfa_used(true)
        .await
        .unwrap();
    let row = stored(&app, &r).await;
    assert_eq!(
        kind(&row),
        ["auth.login.success", "login_success", "success", "info"]
    );
    assert_eq!(
        (row.user_id.as_deref(), row.username.as_deref()),
        (Some("42"), Some("alice"))
    );
    assert_eq!(
        (row.ip.as_deref(), row.user_agent.as_deref()),
        (Some(ip), Some("Mozilla/5.0"))
    );
    assert_eq!(row.session_fingerprint, Some(session_fingerprint("sess-1")));
    assert_eq!(row.mfa_used, Some(true));

    let r = audit
        .log_login_failure("alice", ip, "Invalid credentials")
        .user_agent(None::<&str>)
        .await
        .unwrap();
    let row = stored(&app, &r).await;
    assert_eq!(
        kind(&row),
        ["auth.login.failure", "login_failure", "failure", "warning"]
    );
    assert_eq!(row.reason.as_deref(), Some("Invalid credentials"));
    assert_eq!(
        (row.user_id, row.user_agent, row.mfa_used),
        (None, None, None)
    );

    let r = audit
        .log_token_issued(42, "alice", "access", ip)
        .expires_at(expires)
        .await
        .unwrap();
    let row = stored(&app, &r).await;
    assert_eq!(
        kind(&row),
        ["auth.token.issued", "token_issued", "success", "info"]
    );
    assert_eq!(
        (row.token_type.as_deref(), row.expires_at),
        (Some("access"), Some(expires))
    );

    let r = audit.log_token_refresh(42, "alice", ip).await.unwrap();
    let row = stored(&app, &r).await;
    assert_eq!(
        kind(&row),
        ["auth.token.refresh", "token_refresh", "success", "info"]
    );
    assert_eq!(row.ip.as_deref(), Some(ip));

    let r = audit
        .log_token_validation_failed(ip, "Token expired")
        .await
        .unwrap();
    let row = stored(&app, &r).await;
    let expected = [
        "auth.token.validation_failed",
        "token_validation_failed",
        "failure",
        "warning",
    ];
    assert_eq!(kind(&row), expected);
    assert_eq!(
        (row.reason.as_deref(), row.username),
        (Some("Token expired"), None)
    );

    let r = audit
        .log_oauth_event(
            "AuthEventType.OAUTH_TOKEN_EXCHANGE",
            "token_exchange",
            ActionResult::Success,
        )
        .client_id("client-9")
        .user_id(42)
        .username("alice")
        .ip_address(ip)
        .scope("read write")
        .await
        .unwrap();
    let row = stored(&app, &r).await;
    assert_eq!(
        kind(&row),
        [
            "auth.oauth.token_exchange",
            "token_exchange",
            "success",
            "info"
        ]
    );
    assert_eq!(
        (row.client_id.as_deref(), row.scope.as_deref()),
        (Some("client-9"), Some("read write"))
    );

    let r = audit
        .log_password_changed(42, "alice", false)
        .await
        .unwrap();
    let row = stored(&app, &r).await;
    assert_eq!(
        kind(&row),
        [
            "auth.password.changed",
            "password_changed",
            "success",
            "info"
        ]
    );
    assert_eq!((row.forced, row.ip), (Some(false), None));

    let r = audit
        .log_mfa_event("MFA_ENABLED", 42, "alice", ActionResult::Success)
        .ip_address(ip)
        .await
        .unwrap();
    let row = stored(&app, &r).await;
    assert_eq!(
        kind(&row),
        ["auth.mfa.enabled", "mfa_enabled", "success", "info"]
    );
    let challenge = EventType::parse("auth.mfa.challenge_failure").unwrap();
    let r = audit
        .log_mfa_event(&challenge, 42, "alice", ActionResult::Failure)
        .await
        .unwrap();
    let row = stored(&app, &r).await;
    let expected = [
        "auth.mfa.challenge_failure",
        "mfa_challenge_failure",
        "failure",
        "warning",
    ];
    assert_eq!(kind(&row), expected);

    let r = audit
        .log_api_key_event("API_KEY_CREATED", "api_key_create", ActionResult::Success)
        .user_id(42)
        .username("alice")
        .api_key_id(Uuid::nil())
        .api_key_name("ci")
        .ip_address(ip)
        .await
        .unwrap();
    let row = stored(&app, &r).await;
    assert_eq!(
        kind(&row),
        ["auth.api_key.created", "api_key_create", "success", "info"]
    );
    assert_eq!(row.api_key_id, Some(Uuid::nil().to_string()));
    assert_eq!(row.api_key_name.as_deref(), Some("ci"));

    let r = audit
        .log_auth_event("auth.custom.event", "custom_action", ActionResult::Success)
        .user_id(42)
        .username("alice")
        .ip_address(ip)
        .event_data(json!({"custom_field": "value"}))
        .severity(Severity::Info)
        .await
        .unwrap();
    let row = stored(&app, &r).await;
    assert_eq!(
        kind(&row),
        ["auth.custom.event", "custom_action", "success", "info"]
    );
    assert_eq!(row.event_data, json!({"custom_field": "value"}));

    let r = audit
        .log_auth_event("app.operation.run", "operation", ActionResult::Failure)
        .user_id(42)
        .error_message("disk full")
        .severity(Severity::Error)
        .await
        .unwrap();
    let row = stored(&app, &r).await;
    assert_eq!(
        kind(&row),
        ["app.operation.run", "operation", "failure", "error"]
    );
    assert_eq!(row.error_message.as_deref(), Some("disk full"));
    assert_eq!(app.event_count().await, 12);
}

#[tokio::test]
async fn a_retry_after_a_lost_answer_stores_the_event_once() {
    let app = TestApp::spawn().await;
    let proxy = Proxy::start(app.addr, |n| {
        if n == 0 {
            Conduct::LoseAnswer
        } else {
            Conduct::Relay
        }
    })
    .await;
    let audit = proxy.client(&app.key, fast_retries(5));

    let receipt = audit
        .log_login_failure("alice", "203.0.113.7", "Invalid credentials")
        .await
        .expect("the retry succeeds");
    assert_eq!(proxy.attempts(), 2);
    assert!(
        receipt.duplicate,
        "the first attempt had stored it: {receipt:?}"
    );
    let ids: Vec<Uuid> = sqlx::query_scalar("select id from events")
        .fetch_all(&app.database.pool)
        .await
        .unwrap();
    assert_eq!(ids, [receipt.id]);
}

#[tokio::test]
async fn client_errors_are_final_and_carry_the_servers_message() {
    let app = TestApp::spawn().await;
    let proxy = Proxy::start(app.addr, |_| Conduct::Relay).await;

    let audit = proxy.client(&app.key, fast_retries(5));
    let error = audit
        .log_login_failure("alice", "999.1.1.1", "Invalid credentials")
        .await
        .unwrap_err();
    let ClientError::Rejected {
        status,
        code,
        message,
        details,
    } = error
    else {
        panic!("expected a rejection, got {error:?}");
    };
    assert_eq!((status, code.as_str()), (422, "invalid_events"));
    assert!(message.contains("nothing was stored"), "{message}");
    assert_eq!(
        (details[0].index, details[0].field.as_str()),
        (0, "ip_address")
    );
    assert_eq!(proxy.attempts(), 1);

    let stranger = proxy.client("vigil_not_a_real_key", fast_retries(5));
    let error = stranger
        .log_token_refresh(1, "bob", "10.0.0.1")
        .await
        .unwrap_err();
    assert!(
        matches!(error, ClientError::Rejected { status: 401, ref code, .. } if code == "unauthorized"),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    assert_eq!(proxy.attempts(), 2);
    assert_eq!(app.event_count().await, 0);
}

#[tokio::test]
async fn retry_after_is_obeyed() {
    let app = TestApp::spawn().await;
    let proxy = Proxy::start(app.addr, |n| {
        if n == 0 {
            Conduct::Busy
        } else {
            Conduct::Relay
        }
    })
    .await;
    let audit = proxy.client(&app.key, fast_retries(3));

    let receipt = audit
        .log_token_refresh(42, "alice", "10.0.0.1")
        .await
        .unwrap();
    assert!(!receipt.duplicate);
    let arrivals = proxy.arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 2);
    let waited = arrivals[1] - arrivals[0];
    assert!(
        waited >= Duration::from_secs(1),
        "retried after {waited:?}, not after Retry-After: 1"
    );
    assert_eq!(app.event_count().await, 1);
}

#[tokio::test]
async fn retries_end_in_unavailable_after_max_attempts() {
    let app = TestApp::spawn().await;
    let proxy = Proxy::start(app.addr, |_| Conduct::Hang).await;
    let audit = proxy.client(&app.key, fast_retries(3));

    let error = audit
        .log_token_refresh(42, "alice", "10.0.0.1")
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            ClientError::Unavailable {
                attempts: 3,
                last_status: None,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.is_retryable());
    assert_eq!(proxy.attempts(), 3);
}

#[tokio::test]
async fn the_buffered_client_delivers_everything_on_shutdown() {
    let app = TestApp::spawn().await;
    // A small queue, so producers also wait for room; no timer, so only size and shutdown flush.
    let config = BufferConfig::default()
        .capacity(50)
        .max_batch(100)
        .flush_interval(Duration::from_secs(3600));
    let audit = BufferedAuditClient::new(direct_client(&app), config);
    let producers: Vec<_> = (0..4)
        .map(|p| {
            let audit = audit.clone();
            tokio::spawn(async move {
                for i in 0..125 {
                    let user = format!("user-{p}-{i}");
                    match i % 3 {
                        0 => {
                            audit
                                .log_login_failure(&user, "10.0.0.1", "Invalid credentials")
                                .await
                        }
                        1 => audit.log_token_refresh(i, &user, "10.0.0.2").await,
                        _ => audit.log_password_changed(i, &user, true).await,
                    }
                    .unwrap();
                }
            })
        })
        .collect();
    for producer in producers {
        producer.await.unwrap();
    }

    let report = audit.shutdown().await.unwrap();
    assert_eq!(
        (report.delivered, report.duplicates, report.failed_events),
        (500, 0, 0)
    );
    assert!(report.is_complete());
    assert_eq!(app.event_count().await, 500);
    assert!(matches!(
        audit.log_token_refresh(1, "late", "10.0.0.1").await,
        Err(BufferError::Closed(_))
    ));
    assert!(
        audit.shutdown().await.is_err(),
        "a second shutdown has no report"
    );
}

#[tokio::test]
async fn the_buffered_client_sends_a_partial_batch_on_its_interval() {
    let app = TestApp::spawn().await;
    let config = BufferConfig::default().flush_interval(Duration::from_millis(50));
    let audit = BufferedAuditClient::new(direct_client(&app), config);
    audit
        .log_auth_event("auth.logout", "logout", ActionResult::Success)
        .username("alice")
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.event_count().await < 1 {
        assert!(Instant::now() < deadline, "the interval flush never came");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(audit.shutdown().await.unwrap().delivered, 1);
}

#[tokio::test]
async fn one_bad_event_does_not_cost_its_batch_and_is_reported() {
    let app = TestApp::spawn().await;
    let hooked = Arc::new(Mutex::new(0));
    let seen = hooked.clone();
    let config = BufferConfig::default()
        .max_batch(10)
        .on_failure(move |failed| *seen.lock().unwrap() += failed.events.len());
    let audit = BufferedAuditClient::new(direct_client(&app), config);
    for ip in [
        "10.0.0.1",
        "10.0.0.2",
        "999.0.0.1",
        "10.0.0.4",
        "10.0.0.5",
        "10.0.0.6",
    ] {
        audit
            .log_login_failure("mallory", ip, "Invalid credentials")
            .await
            .unwrap();
    }

    let report = audit.shutdown().await.unwrap();
    assert_eq!((report.delivered, report.failed_events), (5, 1));
    assert_eq!(*hooked.lock().unwrap(), 1);
    let failed = &report.failed[0];
    assert_eq!(failed.events[0].ip_address.as_deref(), Some("999.0.0.1"));
    let ClientError::Rejected {
        status: 422,
        details,
        ..
    } = &failed.error
    else {
        panic!("{:?}", failed.error);
    };
    assert_eq!(
        (details[0].index, details[0].field.as_str()),
        (0, "ip_address")
    );
    assert_eq!(app.event_count().await, 5);
}

#[tokio::test]
async fn a_full_buffer_refuses_and_undeliverable_events_come_back_in_the_report() {
    let app = TestApp::spawn().await;
    let proxy = Proxy::start(app.addr, |_| Conduct::Stall).await;
    let config = BufferConfig::default().capacity(2).max_batch(1);
    let audit = BufferedAuditClient::new(proxy.client(&app.key, RetryPolicy::none()), config);

    let mut accepted = Vec::new();
    let refused = loop {
        assert!(accepted.len() <= 3, "more queued than capacity + one batch");
        let call = audit.log_login_failure("eve", "10.0.0.9", "Invalid credentials");
        let event = call.into_event().unwrap();
        match audit.try_enqueue(event.clone()) {
            Ok(()) => accepted.push(event.event_id.unwrap()),
            Err(BufferError::Full(back)) => break back,
            Err(other) => panic!("{other:?}"),
        }
    };
    assert!(accepted.len() >= 2, "refused before the queue was full");
    assert!(!accepted.contains(&refused.event_id.unwrap()));

    let report = audit.shutdown().await.unwrap();
    assert_eq!(
        (report.delivered, report.failed_events),
        (0, accepted.len() as u64)
    );
    let mut failed: Vec<Uuid> = report
        .failed
        .iter()
        .inspect(|batch| {
            assert!(matches!(
                batch.error,
                ClientError::Unavailable { attempts: 1, .. }
            ))
        })
        .flat_map(|batch| batch.events.iter().map(|e| e.event_id.unwrap()))
        .collect();
    failed.sort();
    accepted.sort();
    assert_eq!(failed, accepted);
}
