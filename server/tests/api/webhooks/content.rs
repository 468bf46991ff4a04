//! What a receiver gets: signed JSON linking to the alert, Slack text with attackers' words
//! escaped, and only the severities and status changes each webhook asked for.

use super::*;

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
