//! Benchmark load generator: Vigil's ingest measured against COPY and one-row-per-transaction.
//!
//! `cargo run --release -p vigil-bench --bin loadgen -- --help`. Starts PostgreSQL (the
//! embedded cluster, unless DATABASE_URL is set), a fresh database and the real Vigil app on
//! 127.0.0.1, runs four bounded phases over the same seed event mix, prints a Markdown table, and
//! stops everything it started.

#[path = "loadgen/baselines.rs"]
mod baselines;
#[path = "loadgen/http.rs"]
mod http;
#[path = "loadgen/measure.rs"]
mod measure;
#[path = "loadgen/mix.rs"]
mod mix;
#[path = "loadgen/report.rs"]
mod report;
#[allow(dead_code)] // shared with the other benchmarks, which use other parts
#[path = "loadgen/setup.rs"]
mod setup;

use anyhow::{anyhow, bail, Result};
use clap::Parser;
use sqlx::PgPool;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;
use vigil_server::auth::{generate_key, hash_key};
use vigil_server::database::create_database_if_missing;
use vigil_server::storage::{KeyKind, KeyStore};

use measure::{CpuProbe, PhaseResult, SERVER_THREADS};
use setup::RunningApp;

/// The ingest key's name, hence the `source` of every row, in every phase.
const SOURCE: &str = "loadgen";

#[derive(Parser, Debug)]
#[command(about = "Measure Vigil's ingest against COPY and one-row-per-transaction baselines")]
struct Args {
    /// Events per phase.
    #[arg(long, default_value_t = 20_000)]
    events: usize,
    /// Concurrent connections (phase b) and single-event HTTP clients (phase c).
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Concurrent HTTP clients posting batches (phase d).
    #[arg(long, default_value_t = 4)]
    batch_clients: usize,
    /// Events per batch in phase d (Vigil accepts up to 1000).
    #[arg(long, default_value_t = 100)]
    batch_size: usize,
    /// Longest any phase may run, in seconds; it then stops and reports what it did.
    #[arg(long, default_value_t = 120)]
    phase_seconds: u64,
    /// Where the embedded PostgreSQL cluster lives; reused by later runs.
    #[arg(long, default_value = "target/loadgen-data")]
    data_dir: PathBuf,
    /// Use this PostgreSQL server instead; a fresh database is created on it (and dropped).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Keep the run's database for inspection instead of dropping it.
    #[arg(long)]
    keep_database: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.events == 0 || args.clients == 0 || args.batch_clients == 0 {
        bail!("--events, --clients and --batch-clients must be at least 1");
    }
    if !(1..=vigil_wire::MAX_EVENTS_PER_REQUEST).contains(&args.batch_size) {
        bail!(
            "--batch-size must be between 1 and {}",
            vigil_wire::MAX_EVENTS_PER_REQUEST
        );
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    // Two runtimes, so that /proc can tell Vigil's CPU time from the load generator's.
    let server = tokio::runtime::Builder::new_multi_thread()
        .thread_name(SERVER_THREADS)
        .enable_all()
        .build()?;
    let client = tokio::runtime::Builder::new_multi_thread()
        .thread_name("loadgen-client")
        .enable_all()
        .build()?;
    let outcome = client.block_on(run(&args, server.handle().clone()));
    server.shutdown_timeout(Duration::from_secs(5));
    outcome
}

/// Owns the embedded cluster, so that it is stopped however the benchmark ends.
async fn run(args: &Args, server: Handle) -> Result<()> {
    let postgres =
        setup::BenchPostgres::start(&args.data_dir, args.database_url.as_deref()).await?;
    let postmaster = postgres.pgdata.as_deref().and_then(measure::postmaster_pid);
    let outcome = tokio::select! {
        outcome = bench(args, &postgres.admin_url, server, postmaster) => outcome,
        _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
    };
    let stopped = postgres.stop().await;
    outcome.and(stopped)
}

/// Runs the benchmark in a database of its own, dropped afterwards unless asked to keep it.
async fn bench(
    args: &Args,
    admin_url: &str,
    server: Handle,
    postmaster: Option<u32>,
) -> Result<()> {
    let name = format!("loadgen_{}", uuid::Uuid::now_v7().simple());
    create_database_if_missing(admin_url, &name).await?;
    let outcome = bench_in(
        args,
        &setup::with_database(admin_url, &name)?,
        server,
        postmaster,
    )
    .await;
    if args.keep_database {
        eprintln!("kept database {name}");
    } else if let Err(err) = setup::drop_database(admin_url, &name).await {
        eprintln!("warning: could not drop database {name}: {err:#}");
    }
    outcome
}

async fn bench_in(args: &Args, url: &str, server: Handle, postmaster: Option<u32>) -> Result<()> {
    // Vigil's pool is opened on the server runtime, so its I/O (and CPU) is counted there.
    let app = server.spawn(RunningApp::start(url.to_owned())).await??;
    let outcome = match setup::bench_pool(url, args.clients).await {
        Ok(pool) => {
            let outcome = phases(args, &pool, &app, postmaster).await;
            pool.close().await;
            outcome
        }
        Err(err) => Err(err),
    };
    let stopped = app.stop(&server).await;
    outcome.and(stopped)
}

async fn phases(
    args: &Args,
    pool: &PgPool,
    app: &RunningApp,
    postmaster: Option<u32>,
) -> Result<()> {
    let limit = Duration::from_secs(args.phase_seconds);
    let probe = CpuProbe::new(postmaster);
    let setting = report::Setting {
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        postgres: setup::describe_postgres(pool).await?,
        date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        load_before: std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split(' ')
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        clients: args.clients,
    };
    eprintln!("generating {} events of the seed mix", args.events);
    let events = mix::events(args.events);
    let parsed = events
        .iter()
        .map(|event| vigil_server::events::parse_event(event.clone(), SOURCE))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|errors| anyhow!("the mix made an invalid event: {errors:?}"))?;
    let singles = Arc::new(events.iter().map(|e| e.to_string()).collect::<Vec<_>>());
    let batches = Arc::new(
        events
            .chunks(args.batch_size)
            .map(|chunk| serde_json::Value::from(chunk.to_vec()).to_string())
            .collect::<Vec<_>>(),
    );
    let key = generate_key();
    KeyStore::new(pool.clone())
        .create(SOURCE, KeyKind::Ingest, &hash_key(&key))
        .await?;
    let ingest = Arc::new(http::Ingest::new(
        app.addr,
        key,
        args.clients.max(args.batch_clients),
    )?);
    let mut checks = Vec::new();
    baselines::truncate(pool).await?;

    eprintln!("a. COPY");
    let copy = measured(&probe, baselines::copy_ceiling(pool, &parsed, limit)).await?;
    let copy = settle(pool, copy, "rows copied", &mut checks).await?;

    eprintln!("b. one row per transaction, {} connections", args.clients);
    let rows = baselines::row_per_transaction(pool, Arc::new(parsed), args.clients, limit);
    let rows = settle(
        pool,
        measured(&probe, rows).await?,
        "rows inserted",
        &mut checks,
    )
    .await?;

    eprintln!("c. Vigil, single events, {} clients", args.clients);
    ingest.warm_up(&singles, args.clients).await?;
    baselines::truncate(pool).await?;
    let label = format!("c. Vigil, 1 event per request ({} clients)", args.clients);
    let single = http::post_all(label, ingest.clone(), singles, args.clients, limit);
    let single = settle(
        pool,
        measured(&probe, single).await?,
        "events acknowledged",
        &mut checks,
    )
    .await?;

    eprintln!(
        "d. Vigil, batches of {}, {} clients",
        args.batch_size, args.batch_clients
    );
    let label = format!(
        "d. Vigil, batches of {} ({} clients)",
        args.batch_size, args.batch_clients
    );
    let batched = http::post_all(label, ingest, batches, args.batch_clients, limit);
    let batched = settle(
        pool,
        measured(&probe, batched).await?,
        "events acknowledged",
        &mut checks,
    )
    .await?;

    let phases = [copy, rows, single, batched];
    report::print(&phases, &setting, &checks);
    let refused: usize = phases.iter().map(|p| p.refused.len()).sum();
    if refused > 0 || checks.iter().any(|c| c.ends_with("MISMATCH")) {
        bail!("{refused} requests refused or a row count mismatch: see above");
    }
    Ok(())
}

/// Runs a phase and records the CPU time it cost each party.
async fn measured(
    probe: &CpuProbe,
    phase: impl Future<Output = Result<PhaseResult>>,
) -> Result<PhaseResult> {
    let before = probe.sample();
    let mut result = phase.await?;
    result.cpu = probe.sample().since(before);
    Ok(result)
}

/// The integrity check after a phase: the table holds exactly what the phase reported stored.
/// Then empties it for the next phase.
async fn settle(
    pool: &PgPool,
    mut phase: PhaseResult,
    what: &str,
    checks: &mut Vec<String>,
) -> Result<PhaseResult> {
    let (rows, commits) = baselines::rows_and_commits(pool).await?;
    phase.commits = Some((rows, commits));
    let verdict = if rows == phase.events as i64 {
        "OK"
    } else {
        "MISMATCH"
    };
    let name = phase.label.split(" (").next().unwrap_or_default();
    checks.push(format!(
        "{name}: {} {what}, {rows} rows in `events`: {verdict}",
        phase.events
    ));
    baselines::truncate(pool).await?;
    Ok(phase)
}
