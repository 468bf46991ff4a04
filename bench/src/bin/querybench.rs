//! Investigator-view benchmark: the queries behind the presets, the pivots and the charts, timed
//! at the server (the `EventStore` calls the read API and the dashboard make) over a database of
//! `vigil demo-data` traffic.
//!
//! `cargo run --release -p vigil-bench --bin querybench -- --events 10000000`. The filled
//! database (`querybench_<events>`) is kept for reruns; `--refill` starts it over.

#[allow(dead_code)]
#[path = "loadgen/measure.rs"]
mod measure;
#[allow(dead_code)]
#[path = "loadgen/setup.rs"]
mod setup;

use anyhow::Result;
use chrono::{Duration as Days, Utc};
use clap::Parser;
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use vigil_server::cli::demo_data::{generate, DemoOptions, ATTACKERS};
use vigil_server::database::{create_database_if_missing, Database};
use vigil_server::storage::{Cursor, EventStore};
use vigil_wire::EventFilter;
use vigil_wire::{bucket_seconds, RankBy};

#[derive(Parser, Debug)]
#[command(about = "Time the investigator views' queries over demo traffic")]
struct Args {
    /// Events of demo traffic (7 days ending now).
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Timed runs of each query (after one warm-up run).
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Fill the database again even if it exists.
    #[arg(long)]
    refill: bool,
    /// Run `VACUUM (ANALYZE)` before timing, as autovacuum would have done on a live system.
    #[arg(long)]
    vacuum: bool,
    #[arg(long, default_value = "target/loadgen-data")]
    data_dir: PathBuf,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let postgres = setup::BenchPostgres::start(&args.data_dir, None).await?;
    let outcome = bench(&args, &postgres.admin_url).await;
    outcome.and(postgres.stop().await)
}

async fn bench(args: &Args, admin_url: &str) -> Result<()> {
    let name = format!("querybench_{}", args.events);
    if args.refill {
        setup::drop_database(admin_url, &name).await?;
    }
    create_database_if_missing(admin_url, &name).await?;
    let database = Database::connect(&setup::with_database(admin_url, &name)?).await?;
    let store = EventStore::new(database.pool.clone());
    let head = store.chain_head().await?.seq;
    if head < args.events as i64 {
        eprintln!("filling {} events of demo traffic", args.events);
        let summary = generate(
            &store,
            DemoOptions {
                events: args.events - head as u64,
                days: 7,
                seed: 1,
                end: Utc::now(),
            },
        )
        .await?;
        eprintln!("filled at {:.0} events/s", summary.rate());
    }
    if args.vacuum {
        eprintln!("vacuuming");
        sqlx::query("vacuum (analyze) events")
            .execute(&database.pool)
            .await?;
    }
    let head = store.chain_head().await?.seq;
    let (user,): (String,) = sqlx::query_as(
        "select username from events where seq > $1 and username is not null order by seq limit 1",
    )
    .bind(head / 2)
    .fetch_one(&database.pool)
    .await?;

    let filter = |query: &str| {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        EventFilter::from_params(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .expect("a valid filter")
    };
    let mut cases: Vec<(String, EventFilter)> = vec![
        ("explorer, no filter".into(), filter("")),
        (
            "preset: login failures".into(),
            filter("type=auth.login.failure"),
        ),
        ("preset: MFA changes".into(), filter("type=mfa")),
        ("preset: API-key activity".into(), filter("type=api_key")),
        (format!("user = {user}"), filter(&format!("user={user}"))),
        (
            format!("ip = {}", ATTACKERS[0]),
            filter(&format!("ip={}", ATTACKERS[0])),
        ),
        ("ip in 203.0.113.0/24".into(), filter("ip=203.0.113.0/24")),
        (
            "ip in 2001:db8:bad::/48".into(),
            filter("ip=2001:db8:bad::/48"),
        ),
        (
            "failures, last 24 h".into(),
            filter("type=auth.login.failure&since=24h"),
        ),
    ];
    println!(
        "\n{} events, {} runs each, timed at the server (EventStore), {}\n",
        head,
        args.runs,
        Utc::now().format("%Y-%m-%d %H:%M UTC")
    );
    println!("| query | first page p50 / p95 ms | next page p50 / p95 ms |\n|---|---|---|");
    for (label, filter) in cases.drain(..) {
        let first = time(args.runs, || store.find(&filter, None, 50)).await?;
        let page = store.find(&filter, None, 50).await?;
        let cursor = page.events.last().map(|e| Cursor {
            occurred_at: e.occurred_at,
            seq: e.seq,
        });
        let next = time(args.runs, || store.find(&filter, cursor, 50)).await?;
        println!(
            "| {label} | {:.1} / {:.1} | {:.1} / {:.1} |",
            first.0, first.1, next.0, next.1
        );
    }
    println!("\n| chart | p50 / p95 ms |\n|---|---|");
    let failures = filter("type=auth.login.failure");
    for (label, range) in [("24 h", Days::hours(24)), ("7 days", Days::days(7))] {
        let until = Utc::now();
        let since = until - range;
        let width = bucket_seconds(range.num_seconds());
        let volume = time(args.runs, || store.volume(&failures, since, until, width)).await?;
        println!(
            "| failures per bucket, {label} | {:.1} / {:.1} |",
            volume.0, volume.1
        );
    }
    let recent_failures = filter("type=auth.login.failure&since=24h");
    for (label, by) in [
        ("top IPs", RankBy::IpAddress),
        ("top usernames", RankBy::Username),
    ] {
        let top = time(args.runs, || store.top(&recent_failures, by, 10)).await?;
        println!(
            "| {label} by failures, 24 h | {:.1} / {:.1} |",
            top.0, top.1
        );
    }
    database.close().await?;
    Ok(())
}

/// p50 and p95 in milliseconds over `runs` calls, after one untimed warm-up.
async fn time<T, E, F, Fut>(runs: usize, call: F) -> Result<(f64, f64)>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: std::error::Error + Send + Sync + 'static,
{
    call().await?;
    let mut took: Vec<Duration> = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        call().await?;
        took.push(started.elapsed());
    }
    took.sort();
    let at = |q: f64| took[((took.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0;
    Ok((at(0.5), at(0.95)))
}
