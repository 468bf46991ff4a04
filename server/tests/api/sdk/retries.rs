//! Retries: a lost answer is retried with the same event_id and stored once, 4xx are final,
//! `Retry-After` is obeyed, and giving up says how often it tried.

use super::*;

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
