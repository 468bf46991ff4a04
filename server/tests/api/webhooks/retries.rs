//! Receivers that fail or stay silent are retried with backoff and finally given up on; deliveries
//! outlive the instance that queued or began them, and two workers never send one twice.

use super::*;

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
