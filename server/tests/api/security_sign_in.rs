//! Sign-in under attack (issue 17, items 5 and 6): floods are refused with 429 before any
//! password is hashed and audited once per burst; the owner signs in from elsewhere meanwhile;
//! hashing never holds up other requests; forwarding headers count only from trusted proxies.

use crate::common;

use common::{TestApp, OPERATOR};
use serde_json::Value;
use std::time::Duration;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// One sign-in attempt, optionally "through" a proxy that names `forwarded_for` as the client.
async fn attempt(app: &TestApp, password: &str, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut request = client()
        .post(app.url("/auth/login"))
        .form(&[("username", OPERATOR.0), ("password", password)]);
    if let Some(ip) = forwarded_for {
        request = request.header("x-forwarded-for", ip);
    }
    request.send().await.unwrap()
}

fn signed_in(response: &reqwest::Response) -> bool {
    response.status() == 303 && response.headers()["location"] == "/"
}

/// Vigil's own sign-in events: (reason, ip, event_data), oldest first.
async fn sign_in_events(app: &TestApp) -> Vec<(Option<String>, Option<String>, Value)> {
    sqlx::query_as(
        "select reason, host(ip_address), event_data from events where source = 'vigil' order by seq",
    )
    .fetch_all(&app.database.pool)
    .await
    .unwrap()
}

fn spawn_throttled(quiet: u64, trusted: &str) -> impl std::future::Future<Output = TestApp> {
    let trusted = trusted.to_owned();
    TestApp::spawn_with(move |args| {
        args.sign_in.burst_quiet_seconds = quiet;
        if !trusted.is_empty() {
            args.trusted_proxies = vec![trusted.parse().unwrap()];
        }
    })
}

#[tokio::test]
async fn a_flood_is_refused_before_hashing_and_audited_once_per_burst() {
    let app = spawn_throttled(1, "").await;
    let mut answers = Vec::new();
    for _ in 0..40 {
        let response = attempt(&app, "wrong", None).await;
        answers.push((
            response.status().as_u16(),
            response.headers().get("retry-after").cloned(),
        ));
    }
    assert!(
        answers[..5].iter().all(|(status, _)| *status == 303),
        "{answers:?}"
    );
    assert!(
        answers[5..]
            .iter()
            .all(|(status, retry)| *status == 429 && retry.is_some()),
        "{answers:?}"
    );
    let retry: u64 = answers[5]
        .1
        .as_ref()
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=13).contains(&retry),
        "one attempt comes back every 12 s: {retry}"
    );
    let right_password = attempt(&app, OPERATOR.1, None).await;
    assert_eq!(
        right_password.status(),
        429,
        "this address is throttled for this user"
    );

    let burst = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let events = sign_in_events(&app).await;
            if let Some(burst) = events
                .iter()
                .find(|(reason, _, _)| reason.as_deref() == Some("sign-in attempts throttled"))
            {
                return (events.clone(), burst.clone());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the burst is recorded once it goes quiet");
    let (events, (_, ip, data)) = burst;
    assert_eq!(
        data["throttled_attempts"], 36,
        "35 wrong and the right one: {data}"
    );
    assert_eq!(data["limit"], "client_and_username");
    assert_eq!(ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(
        events.len(),
        5 + 1,
        "five checked attempts and one burst: {events:?}"
    );
}

#[tokio::test]
async fn the_owner_signs_in_from_another_address_during_a_flood_on_their_name() {
    let app = spawn_throttled(30, "127.0.0.1/32").await;
    let attacker = "203.0.113.66";
    let mut refused = false;
    for _ in 0..10 {
        if attempt(&app, "guess", Some(attacker)).await.status() == 429 {
            refused = true;
        }
    }
    assert!(refused, "the attacker's address is throttled");
    assert_eq!(
        attempt(&app, OPERATOR.1, Some(attacker)).await.status(),
        429
    );
    let owner = attempt(&app, OPERATOR.1, Some("198.51.100.20")).await;
    assert!(signed_in(&owner), "the owner is not locked out");

    let events = sign_in_events(&app).await;
    let last = events.last().unwrap();
    assert_eq!(
        (last.0.as_deref(), last.1.as_deref()),
        (None, Some("198.51.100.20")),
        "the success is audited with the client's address, not the proxy's"
    );
    assert!(events[..5]
        .iter()
        .all(|(_, ip, _)| ip.as_deref() == Some(attacker)));
}

#[tokio::test]
async fn forwarding_headers_from_untrusted_peers_are_ignored() {
    let app = TestApp::spawn().await;
    let spoofed = attempt(&app, OPERATOR.1, Some("198.51.100.20")).await;
    assert!(signed_in(&spoofed));
    let events = sign_in_events(&app).await;
    assert_eq!(
        events[0].1.as_deref(),
        Some("127.0.0.1"),
        "the peer's address"
    );
    // Nor can a spoofed header dodge the throttle: all these are one client.
    let mut statuses = Vec::new();
    for i in 0..8 {
        let ip = format!("192.0.2.{i}");
        statuses.push(attempt(&app, "wrong", Some(&ip)).await.status().as_u16());
    }
    assert!(statuses.contains(&429), "{statuses:?}");
}

/// Hashing runs on the blocking pool: on this test's single-threaded runtime, a health check
/// sent after sixteen sign-ins is answered while most of them are still hashing. Were argon2
/// run on the async worker, each sign-in would hold the only thread until its hash finished.
#[tokio::test]
async fn hashing_never_holds_up_other_requests() {
    let app = spawn_throttled(30, "127.0.0.1/32").await;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut sign_ins = Vec::new();
    for i in 0..16 {
        let (url, done) = (app.url("/auth/login"), done.clone());
        sign_ins.push(tokio::spawn(async move {
            let response = client()
                .post(url)
                .header("x-forwarded-for", format!("192.0.2.{i}"))
                .form(&[("username", OPERATOR.0), ("password", "wrong")])
                .send()
                .await
                .unwrap();
            done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            response.status()
        }));
    }
    // The sign-ins are queued first, so they run (and are sent) before the health check.
    for _ in 0..64 {
        tokio::task::yield_now().await;
    }
    let health = client().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let finished_first = done.load(std::sync::atomic::Ordering::SeqCst);
    for sign_in in sign_ins {
        assert_eq!(sign_in.await.unwrap(), 303);
    }
    assert!(
        finished_first < 8,
        "{finished_first} of 16 sign-ins had finished before a health check sent after them"
    );
}

/// A burst still waiting for its quiet period when the server stops is recorded, not lost.
#[tokio::test]
async fn a_graceful_stop_records_the_bursts_still_open() {
    let app = TestApp::spawn().await;
    let instance = app.instance("127.0.0.1:0".parse().unwrap()).await;
    let mut refused = 0;
    for _ in 0..12 {
        let response = client()
            .post(instance.url("/auth/login"))
            .form(&[("username", OPERATOR.0), ("password", "wrong")])
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            refused += 1;
        }
    }
    assert_eq!(refused, 7, "five checked, seven refused");
    instance.stop().await;
    let events = sign_in_events(&app).await;
    let burst = events
        .iter()
        .find(|(reason, _, _)| reason.as_deref() == Some("sign-in attempts throttled"))
        .expect("the open burst was recorded at shutdown (its quiet period is 30 s)");
    assert_eq!(burst.2["throttled_attempts"], 7);
}
