//! `vigil webhooks`: adding, listing and removing webhooks, and a bad URL refused saying why.

use super::*;
use std::process::Output;

const VIGIL: &str = env!("CARGO_BIN_EXE_vigil");

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
