//! Live-stream benchmark: latency from POST acknowledged to receipt by WebSocket clients (one
//! instance, and across two), memory per idle connection, and ingest throughput with and without
//! clients attached.
//!
//! `cargo run --release -p vigil-bench --bin livebench -- --help`. Vigil runs in a child
//! process (this program re-executed with `--serve`), so its memory is measured apart from the
//! clients'; the clients, the child and PostgreSQL share this machine's cores.

#[allow(dead_code)]
#[path = "loadgen/measure.rs"]
mod measure;
#[allow(dead_code)]
#[path = "loadgen/mix.rs"]
mod mix;
#[path = "livebench/phases.rs"]
mod phases;
#[path = "livebench/producer.rs"]
mod producer;
#[allow(dead_code)]
#[path = "loadgen/setup.rs"]
mod setup;
#[path = "livebench/throughput.rs"]
mod throughput;
#[path = "livebench/watchers.rs"]
mod watchers;

use anyhow::{anyhow, Context, Result};
use clap::Parser;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use vigil_server::auth::{generate_key, hash_key};
use vigil_server::database::{create_database_if_missing, Database};
use vigil_server::storage::{KeyKind, KeyStore};

#[derive(Parser, Debug, Clone)]
#[command(
    about = "Measure Vigil's live stream: latency, memory per connection, ingest with clients attached"
)]
pub struct Args {
    /// WebSocket clients; half follow everything, half only login failures.
    #[arg(long, default_value_t = 200)]
    clients: usize,
    /// Events posted per second (one per request) in the latency phases.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Length of each latency phase, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent producers in the throughput phases, each posting batches of 100 events. With
    /// 4 the writer sometimes waited for the next request (ingest ~8% below 16's).
    #[arg(long, default_value_t = 16)]
    producers: usize,
    /// Length of each throughput phase, in seconds.
    #[arg(long, default_value_t = 10)]
    throughput_seconds: u64,
    /// Rounds of the throughput phases. One phase of each kind moves by ±5% with nothing
    /// attached (the "nobody" control row), so each kind is measured this many times and
    /// reported as the mean.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Where the embedded PostgreSQL cluster lives; reused by later runs.
    #[arg(long, default_value = "target/loadgen-data")]
    data_dir: PathBuf,
    /// Use this PostgreSQL server instead; a fresh database is created on it (and dropped).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Internal: serve two Vigil instances on this database URL and print their addresses.
    #[arg(long, hide = true)]
    serve: Option<String>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Runtime::new()?;
    match args.serve.clone() {
        Some(url) => runtime.block_on(serve_instances(url)),
        None => runtime.block_on(bench(args)),
    }
}

/// The child: two instances on one database, until its stdin closes.
async fn serve_instances(url: String) -> Result<()> {
    let first = setup::RunningApp::start(url.clone()).await?;
    let second = setup::RunningApp::start(url).await?;
    println!("{} {}", first.addr, second.addr);
    tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new())).await??;
    let handle = tokio::runtime::Handle::current();
    first.stop(&handle).await?;
    second.stop(&handle).await
}

async fn bench(args: Args) -> Result<()> {
    let postgres =
        setup::BenchPostgres::start(&args.data_dir, args.database_url.as_deref()).await?;
    postgres.drop_leftovers("livebench").await?;
    let name = format!("livebench_{}", uuid::Uuid::now_v7().simple());
    create_database_if_missing(&postgres.admin_url, &name).await?;
    let postmaster = postgres.pgdata.as_deref().and_then(measure::postmaster_pid);
    let url = setup::with_database(&postgres.admin_url, &name)?;
    let outcome = bench_in(&args, &url, postmaster, &postgres.admin_url).await;
    if let Err(err) = setup::drop_database(&postgres.admin_url, &name).await {
        eprintln!("warning: could not drop database {name}: {err:#}");
    }
    outcome.and(postgres.stop().await)
}

async fn bench_in(args: &Args, url: &str, postmaster: Option<u32>, admin_url: &str) -> Result<()> {
    let database = Database::connect(url).await?; // migrates before the child starts
    let keys = KeyStore::new(database.pool.clone());
    let (ingest_key, read_key) = (generate_key(), generate_key());
    keys.create("livebench", KeyKind::Ingest, &hash_key(&ingest_key))
        .await?;
    keys.create("livebench-read", KeyKind::Read, &hash_key(&read_key))
        .await?;
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--serve", url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("starting the Vigil child process")?;
    let outcome = match instance_addrs(&mut child) {
        Ok(addrs) => {
            let setup = phases::Setup {
                child_pid: child.id(),
                postmaster,
                admin_url: admin_url.to_owned(),
                database_url: url.to_owned(),
                instances: addrs,
                ingest_key,
                read_key,
            };
            phases::run(args, &setup).await
        }
        Err(err) => Err(err),
    };
    drop(child.stdin.take()); // the child stops its instances and exits
    let status = tokio::task::spawn_blocking(move || child.wait()).await??;
    database.close().await?;
    outcome.and(if status.success() {
        Ok(())
    } else {
        Err(anyhow!("the Vigil child process failed: {status}"))
    })
}

/// The child's first line: two listening addresses.
fn instance_addrs(child: &mut Child) -> Result<[SocketAddr; 2]> {
    let stdout = child.stdout.take().context("child stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let addrs: Vec<SocketAddr> = line
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .with_context(|| format!("the child printed `{line}`"))?;
    addrs
        .try_into()
        .map_err(|_| anyhow!("expected two addresses, got `{line}`"))
}
