//! The buffered client: batches, flushes on interval and shutdown, reports what it could not
//! deliver, and refuses rather than grows when full.

use super::*;

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
