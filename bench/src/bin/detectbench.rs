//! Detection benchmark: ingest at its ceiling with the built-in pack on and off in one run, the
//! time from the acknowledgement of the event that trips a rule to the alert on a WebSocket, and
//! the engine's memory under a million distinct attacking addresses.
//!
//! `cargo run --release -p vigil-bench --bin detectbench`. Figures: docs/BENCHMARKS.md,
//! "Detections".

#[allow(dead_code)]
#[path = "loadgen/measure.rs"]
mod measure;
#[allow(dead_code)]
#[path = "loadgen/mix.rs"]
mod mix;
#[allow(dead_code)]
#[path = "loadgen/setup.rs"]
mod setup;

use anyhow::{bail, Context, Result};
use chrono::{Duration as Span, Utc};
use clap::Parser;
use futures::StreamExt;
use serde_json::{json, Value};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Handle;
use vigil_server::auth::{generate_key, hash_key};
use vigil_server::database::create_database_if_missing;
use vigil_server::detect::{rules_file, Engine, Limits};
use vigil_server::storage::{KeyKind, KeyStore};
use vigil_wire::{ActionResult, Category, Severity, StoredEvent};

use setup::RunningApp;

#[derive(Parser, Debug)]
#[command(about = "Measure detection: ingest with the pack on vs off, alert latency, memory")]
struct Args {
    /// Events per ingest round (six rounds: off, on, off, on, off, on).
    #[arg(long, default_value_t = 50_000)]
    events: usize,
    /// Concurrent clients posting batches of 100.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Attacks timed for the alert latency.
    #[arg(long, default_value_t = 200)]
    attacks: usize,
    /// Distinct attacking addresses fed to the engine for its memory.
    #[arg(long, default_value_t = 1_000_000)]
    addresses: u32,
    #[arg(long, default_value = "target/loadgen-data")]
    data_dir: PathBuf,
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let server = tokio::runtime::Builder::new_multi_thread()
        .thread_name(measure::SERVER_THREADS)
        .enable_all()
        .build()?;
    let client = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    memory(args.addresses);
    engine_on_the_mix(args.events * 4);
    let outcome = client.block_on(run(&args, server.handle().clone()));
    server.shutdown_timeout(Duration::from_secs(5));
    outcome
}

async fn run(args: &Args, server: Handle) -> Result<()> {
    let postgres =
        setup::BenchPostgres::start(&args.data_dir, args.database_url.as_deref()).await?;
    postgres.drop_leftovers("detectbench").await?;
    let outcome = async {
        let mut rates = Vec::new();
        for detections in [false, true, false, true, false, true] {
            let rate = ingest_round(args, &postgres.admin_url, &server, detections).await?;
            println!(
                "ingest, pack {}: {rate:.0} events/s",
                if detections { "on " } else { "off" }
            );
            rates.push((detections, rate));
        }
        let mean = |on: bool| {
            let r: Vec<f64> = rates
                .iter()
                .filter(|(d, _)| *d == on)
                .map(|(_, r)| *r)
                .collect();
            r.iter().sum::<f64>() / r.len() as f64
        };
        println!(
            "ingest with the pack on: {:+.1}% of off ({:.0} vs {:.0} events/s)",
            (mean(true) / mean(false) - 1.0) * 100.0,
            mean(true),
            mean(false)
        );
        latency(args, &postgres.admin_url, &server).await
    }
    .await;
    postgres.stop().await?;
    outcome
}

/// A fresh database, the app, and a key of `kind` on it.
async fn app_on(
    admin_url: &str,
    server: &Handle,
    detections: bool,
) -> Result<(RunningApp, String, String, String)> {
    let name = format!("detectbench_{}", uuid::Uuid::now_v7().simple());
    create_database_if_missing(admin_url, &name).await?;
    let url = setup::with_database(admin_url, &name)?;
    let app = server
        .spawn(RunningApp::start_with(url.clone(), move |config| {
            config.no_detections = !detections;
        }))
        .await??;
    let keys = KeyStore::new(setup::bench_pool(&url, 1).await?);
    let (ingest, read) = (generate_key(), generate_key());
    keys.create("detectbench", KeyKind::Ingest, &hash_key(&ingest))
        .await?;
    keys.create("reader", KeyKind::Read, &hash_key(&read))
        .await?;
    Ok((app, ingest, read, name))
}

/// The ingest mix, with each API key used from a host of its own: the mix draws every use's
/// address from its random user, which would make nearly every use "a new address" for
/// `api-key-new-address` (8,800 alerts per 200,000 events), unlike any real deployment.
fn realistic_mix(count: usize) -> Vec<Value> {
    let mut events = mix::events(count);
    for event in &mut events {
        if event["event_type"] == "auth.api_key.used" {
            let key: u32 = (event["api_key_id"].as_str().unwrap_or("ak_0")[3..])
                .parse()
                .unwrap_or(0);
            event["ip_address"] = json!(format!("10.200.{}.{}", key / 256, key % 256));
        }
    }
    events
}

async fn ingest_round(
    args: &Args,
    admin_url: &str,
    server: &Handle,
    detections: bool,
) -> Result<f64> {
    let (app, key, _, name) = app_on(admin_url, server, detections).await?;
    let bodies: Arc<Vec<String>> = Arc::new(
        realistic_mix(args.events)
            .chunks(100)
            .map(|chunk| Value::Array(chunk.to_vec()).to_string())
            .collect(),
    );
    let http = reqwest::Client::new();
    let url = format!("http://{}/api/v1/events", app.addr);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let workers = (0..args.clients).map(|_| {
        let (http, url, key, bodies, next) = (
            http.clone(),
            url.clone(),
            key.clone(),
            bodies.clone(),
            next.clone(),
        );
        tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(body) = bodies.get(i) else {
                    return Ok::<_, anyhow::Error>(());
                };
                let response = (http.post(&url))
                    .bearer_auth(&key)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await?;
                if response.status() != 201 {
                    bail!("ingest answered {}", response.status());
                }
            }
        })
    });
    for worker in futures::future::join_all(workers).await {
        worker??;
    }
    let rate = args.events as f64 / started.elapsed().as_secs_f64();
    app.stop(server).await?;
    setup::drop_database(admin_url, &name).await?;
    Ok(rate)
}

/// Acknowledgement of the eighth failure from an address to the alert on a stream.
async fn latency(args: &Args, admin_url: &str, server: &Handle) -> Result<()> {
    let (app, key, read, name) = app_on(admin_url, server, true).await?;
    let url = format!("ws://{}/api/v1/stream?events=false&alerts=true", app.addr);
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
            url.as_str(),
        )?;
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {read}").parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let http = reqwest::Client::new();
    let post = |events: Value| {
        (http.post(format!("http://{}/api/v1/events", app.addr)))
            .bearer_auth(&key)
            .json(&events)
            .send()
    };
    let mut latencies = Vec::new();
    for attack in 0..args.attacks {
        let ip = Ipv4Addr::from(0xC612_0000 + attack as u32).to_string(); // 198.18.0.0/15
        let failure = |n: i64| {
            json!({"event_type": "auth.login.failure", "ip_address": ip, "username": format!("v{n}"),
                   "occurred_at": (Utc::now() - Span::seconds(10 - n)).to_rfc3339()})
        };
        let seven: Vec<Value> = (0..7).map(failure).collect();
        post(json!(seven)).await?.error_for_status()?;
        let response = post(json!([failure(7)])).await?;
        let acknowledged = Instant::now();
        if response.status() != 201 {
            bail!("ingest answered {}", response.status());
        }
        let wanted = format!("ip={ip}");
        loop {
            let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
                .await
                .context("no alert within 10 s")?
                .context("the stream ended")??;
            let text = message.into_text()?;
            let value: Value = serde_json::from_str(&text)?;
            if value["kind"] == "alert" && value["alert"]["group_key"] == wanted.as_str() {
                latencies.push(acknowledged.elapsed());
                break;
            }
        }
    }
    let _ = socket.close(None).await;
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    println!(
        "acknowledged → alert on a stream, {} attacks: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3
    );
    app.stop(server).await?;
    setup::drop_database(admin_url, &name).await?;
    Ok(())
}

/// Resident memory, from /proc.
fn rss_mb() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / 1e6
}

/// The engine alone over the ingest rounds' event mix: its CPU per event.
fn engine_on_the_mix(count: usize) {
    let start = Utc::now();
    let events: Vec<StoredEvent> = (realistic_mix(count).into_iter().enumerate())
        .map(|(n, input)| {
            let text = |field: &str| input[field].as_str().map(str::to_owned);
            let kind = vigil_wire::EventType::parse(input["event_type"].as_str().unwrap()).unwrap();
            let failed = kind.implied_success() == Some(false);
            StoredEvent {
                seq: n as i64 + 1,
                category: kind.category(),
                action_result: if failed {
                    ActionResult::Failure
                } else {
                    ActionResult::Success
                },
                event_type: kind.as_str().to_owned(),
                user_id: text("user_id"),
                username: text("username"),
                ip_address: text("ip_address").and_then(|ip| ip.parse().ok()),
                api_key_id: text("api_key_id"),
                client_id: text("client_id"),
                occurred_at: start + Span::milliseconds(n as i64),
                received_at: start + Span::milliseconds(n as i64),
                ..blank(n as i64)
            }
        })
        .collect();
    let mut engine = Engine::new(rules_file::defaults(), Limits::default());
    let started = Instant::now();
    let (mut verdicts, mut opened) = (0, 0);
    for event in &events {
        let judged = engine.judge(event);
        verdicts += judged.len();
        opened += judged
            .iter()
            .filter(|v| matches!(v, vigil_server::detect::Verdict::Open { .. }))
            .count();
    }
    let elapsed = started.elapsed();
    println!(
        "engine, the ingest mix ({count} events): {:.2} µs per event, {verdicts} verdicts, {opened} alerts",
        elapsed.as_secs_f64() * 1e6 / count as f64
    );
}

fn blank(seq: i64) -> StoredEvent {
    StoredEvent {
        seq,
        id: uuid::Uuid::now_v7(),
        event_type: String::new(),
        category: Category::Authentication,
        action: "login".into(),
        action_result: ActionResult::Success,
        severity: Severity::Info,
        user_id: None,
        username: None,
        ip_address: None,
        user_agent: None,
        session_fingerprint: None,
        mfa_used: None,
        reason: None,
        error_message: None,
        token_type: None,
        expires_at: None,
        client_id: None,
        scope: None,
        forced: None,
        api_key_id: None,
        api_key_name: None,
        event_data: json!({}),
        occurred_at: Utc::now(),
        received_at: Utc::now(),
        occurred_at_claimed: None,
        source: "bench".into(),
    }
}

/// The engine alone, fed one failed sign-in from each of `addresses` distinct addresses.
fn memory(addresses: u32) {
    let before = rss_mb();
    let mut engine = Engine::new(rules_file::defaults(), Limits::default());
    let start = Utc::now();
    let started = Instant::now();
    for n in 0..addresses {
        let at = start + Span::milliseconds(i64::from(n));
        let event = StoredEvent {
            event_type: "auth.login.failure".into(),
            action_result: ActionResult::Failure,
            username: Some(format!("user{}", n % 5000)),
            ip_address: Some(IpAddr::V4(Ipv4Addr::from(0x0A00_0000 + n))),
            occurred_at: at,
            received_at: at,
            ..blank(i64::from(n) + 1)
        };
        engine.judge(&event);
    }
    let stats = engine.stats();
    println!(
        "engine, {addresses} distinct addresses: {:.0} ms, {} keys kept, {} forgotten, RSS +{:.0} MB",
        started.elapsed().as_secs_f64() * 1e3,
        engine.keys(),
        stats.evicted,
        rss_mb() - before
    );
}
