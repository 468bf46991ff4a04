//! The Rust client SDK (`vigil_client`) against a real vigil: every seed call stores its
//! type, fields and defaults; retries after a lost answer store once; 4xx are final;
//! `Retry-After` is obeyed; the buffered client delivers or reports every event.

mod buffered;
use crate::common;
mod proxy;
mod retries;

use chrono::{DateTime, TimeZone, Utc};
use common::TestApp;
use proxy::{Conduct, Proxy};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use uuid::Uuid;
use vigil_client::{
    AuditClient, BufferConfig, BufferError, BufferedAuditClient, ClientError, RetryPolicy,
};
use vigil_server::events::session_fingerprint;
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
