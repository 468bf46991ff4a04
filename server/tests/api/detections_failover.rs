//! One engine across instances: two `vigil serve` processes on one database raise one alert
//! per attack, and when the evaluating one is killed (`kill -9`) mid-attack the other takes
//! over from the cursor, with nothing missed or raised twice.

use chrono::{Duration, Utc};
use serde_json::{json, Value};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use vigil_server::database::Database;
use vigil_server::storage::KeyKind;

use crate::cli::fresh_data_dir;
use crate::common::{self, create_key, eventually};

const VIGIL: &str = env!("CARGO_BIN_EXE_vigil");

/// `vigil serve` on `database_url`, and the URL it printed.
async fn serve(database_url: &str, name: &str) -> (Child, String) {
    let data_dir = fresh_data_dir(name);
    let mut child = Command::new(VIGIL)
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(&data_dir)
        .env("DATABASE_URL", database_url)
        .env_remove("VIGIL_APP_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.strip_prefix("Vigil dashboard: ") {
                return url.trim_end_matches('/').to_owned();
            }
        }
        panic!("serve exited before printing its URL");
    })
    .await
    .unwrap();
    (child, url)
}

async fn evaluating(url: &str, reader: &str) -> bool {
    let Ok(response) = (reqwest::Client::new().get(format!("{url}/metrics")))
        .bearer_auth(reader)
        .send()
        .await
    else {
        return false;
    };
    let text = response.text().await.unwrap_or_default();
    text.lines().any(|l| l == "vigil_detect_evaluating 1")
}

async fn post(url: &str, key: &str, events: &[Value]) {
    let response = reqwest::Client::new()
        .post(format!("{url}/api/v1/events"))
        .bearer_auth(key)
        .json(&events)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

async fn alerts(database: &Database) -> Vec<(String, String, i64, Vec<i64>)> {
    sqlx::query_as("select rule_id, group_key, event_count, evidence_seqs from alerts order by id")
        .fetch_all(&database.pool)
        .await
        .unwrap()
}

fn attack(ip: &str, from: i64, to: i64) -> Vec<Value> {
    let base = Utc::now() - Duration::minutes(5);
    (from..to)
        .map(|n| {
            json!({"event_type": "auth.login.failure", "ip_address": ip,
                   "username": format!("victim{n}"),
                   "occurred_at": (base + Duration::seconds(n * 5)).to_rfc3339()})
        })
        .collect()
}

#[tokio::test]
async fn two_instances_raise_one_alert_and_a_killed_evaluator_is_taken_over() {
    let url = common::bare_database_url().await;
    let database = Database::connect(&url).await.unwrap();
    let key = create_key(&database, "producer", KeyKind::Ingest).await;
    let reader = create_key(&database, "reader", KeyKind::Read).await;
    let (first, first_url) = serve(&url, "failover-a").await;
    let (second, second_url) = serve(&url, "failover-b").await;
    let servers = [(first, first_url), (second, second_url)];

    // Exactly one of them takes the lease.
    let holder = eventually("an instance to evaluate", || async {
        let mut holding = Vec::new();
        for (i, (_, url)) in servers.iter().enumerate() {
            if evaluating(url, &reader).await {
                holding.push(i);
            }
        }
        (holding.len() == 1).then(|| holding[0])
    })
    .await;

    // An attack posted to both, alternately: one alert, every event counted once.
    for (n, event) in attack("198.51.100.70", 0, 10).into_iter().enumerate() {
        post(&servers[n % 2].1, &key, &[event]).await;
    }
    let raised = eventually("one alert for the first attack", || async {
        let raised = alerts(&database).await;
        (raised.len() == 1 && raised[0].2 == 10).then_some(raised)
    })
    .await;
    assert_eq!(raised[0].1, "ip=198.51.100.70");

    // A second attack: five events judged by the holder, which is then killed outright…
    let ip = "198.51.100.71";
    post(&servers[holder].1, &key, &attack(ip, 0, 5)).await;
    let head: i64 = sqlx::query_scalar("select seq from chain_head")
        .fetch_one(&database.pool)
        .await
        .unwrap();
    eventually("the holder to judge them", || async {
        let cursor: i64 = sqlx::query_scalar("select seq from detection_cursor")
            .fetch_one(&database.pool)
            .await
            .ok()?;
        (cursor == head).then_some(())
    })
    .await;
    let [(mut a, a_url), (mut b, b_url)] = servers;
    let (killed, (mut survivor, survivor_url)) = if holder == 0 {
        (&mut a, (b, b_url))
    } else {
        (&mut b, (a, a_url))
    };
    let pid = nix::unistd::Pid::from_raw(killed.id().unwrap() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
    killed.wait().await.unwrap();

    // …and the rest goes to the survivor, which takes the lease and rebuilds the windows.
    post(&survivor_url, &key, &attack(ip, 5, 10)).await;
    eventually("the survivor to evaluate", || async {
        evaluating(&survivor_url, &reader).await.then_some(())
    })
    .await;
    let raised = eventually("the second attack's alert", || async {
        let raised = alerts(&database).await;
        (raised.len() == 2 && raised[1].2 == 10).then_some(raised)
    })
    .await;
    assert_eq!(raised[1].1, format!("ip={ip}"));
    let mut seqs = raised[1].3.clone();
    seqs.dedup();
    assert_eq!(seqs.len(), 10, "every event once: {seqs:?}");
    let _ = survivor.kill().await;
}
