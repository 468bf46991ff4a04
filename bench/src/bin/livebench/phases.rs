//! The phases of the live benchmark and their report.

use anyhow::{bail, Result};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use vigil_server::config::LiveCpus;
use vigil_server::live::FAN_OUT_NICE;

use crate::producer::Producer;
use crate::throughput::{self, Phase, Probe, WithClients};
use crate::watchers::{ClientRuntime, Filters, Watchers};
use crate::Args;
use tokio::runtime::Handle;

pub struct Setup {
    pub child_pid: u32,
    /// The embedded cluster's postmaster, for CPU accounting.
    pub postmaster: Option<u32>,
    /// The server's `postgres` database as its superuser, to checkpoint between phases.
    pub admin_url: String,
    /// The benchmark's own database, to vacuum between phases.
    pub database_url: String,
    pub instances: [SocketAddr; 2],
    pub ingest_key: String,
    pub read_key: String,
}

/// Events per request in the throughput phases.
const BATCH_SIZE: usize = 100;
/// How long the clients may take to receive the receiving phase's last events.
const CATCH_UP_LIMIT: Duration = Duration::from_secs(300);

/// One request body of the throughput phases.
pub struct Batch {
    pub body: String,
    /// Positions of its login failures (what the filtered clients follow).
    pub failures: Vec<usize>,
}

impl Batch {
    fn new(events: &[serde_json::Value]) -> Batch {
        let failure = crate::watchers::FILTER.trim_start_matches("type=");
        Batch {
            body: serde_json::Value::from(events.to_vec()).to_string(),
            failures: (events.iter().enumerate())
                .filter(|(_, e)| e["event_type"] == failure)
                .map(|(i, _)| i)
                .collect(),
        }
    }
}

/// Leaves every phase the same database to start from, so that none pays for work the phases
/// before it left behind (best effort).
///
/// - `VACUUM (ANALYZE)` of the events now, with autovacuum off for them (see
///   [`autovacuum_off`]): autovacuum's launcher wakes every minute, and with 30 s phases it
///   fell on every other phase: the phases with clients, in one run for 17–21 s of each (the
///   clients whose filters match nothing "cost" −10.0%).
/// - `CHECKPOINT`, so that no phase is timed across one and each starts with the same
///   full-page writes ahead of it: checkpoints came every ~2 GB of WAL (every phase or two), and
///   with 30 s phases the clients whose filters match nothing cost −16.8% in one run and −4.1%
///   in the next with it.
async fn settle(setup: &Setup) {
    let vacuum = "vacuum (analyze) events";
    best_effort(&setup.database_url, vacuum, "no vacuum before the phase").await;
    best_effort(
        &setup.admin_url,
        "checkpoint",
        "no checkpoint before the phase",
    )
    .await;
}

/// Turns autovacuum off for the events' partitions of the benchmark's own database (it is
/// dropped afterwards): [`settle`] vacuums them before every phase instead, so that every phase
/// is measured with the same work and none with autovacuum's. (A partitioned table takes no
/// autovacuum setting itself: each partition does.)
async fn autovacuum_off(database_url: &str) {
    let off = "do $$ declare partition regclass; begin \
        for partition in select inhrelid::regclass from pg_inherits \
            where inhparent = 'events'::regclass loop \
        execute format('alter table %s set (autovacuum_enabled = off)', partition); \
        end loop; end $$";
    best_effort(database_url, off, "autovacuum stays on during the phases").await;
}

/// Runs `sql` on a connection of its own to `url`; if it fails, says so (`otherwise`) and goes
/// on: a server's login may lack the rights, and then the phases are only noisier.
async fn best_effort(url: &str, sql: &str, otherwise: &str) {
    use sqlx::Connection;
    let done = async {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        sqlx::query(sql).execute(&mut conn).await?;
        conn.close().await
    };
    if let Err(err) = done.await {
        eprintln!("warning: {otherwise}: {err}");
    }
}

/// What a throughput phase stored.
pub struct Stored {
    pub rate: f64,
    /// The newest seq, and the newest login failure's.
    pub newest: i64,
    pub newest_failure: i64,
}

pub async fn run(args: &Args, setup: &Setup) -> Result<()> {
    // The clients' threads: anywhere, and confined to the CPUs the fan-out runs on (chosen as
    // the child chooses them: `VIGIL_LIVE_CPUS`, or `auto`).
    let anywhere_runtime = ClientRuntime::start(None, 0)?;
    let anywhere = anywhere_runtime.handle();
    let choice = match std::env::var("VIGIL_LIVE_CPUS") {
        Ok(cpus) => cpus.parse().map_err(anyhow::Error::msg)?,
        Err(_) => LiveCpus::Auto,
    };
    let fan_out_cpus = vigil_server::cpus::choose_cpus(choice);
    let beside_runtime = ClientRuntime::start(fan_out_cpus.as_deref(), 0)?;
    // Standing in for browsers on other machines, which take no CPU from ingest: beside the
    // fan-out and at its priority, so they take only what ingest leaves.
    let elsewhere_runtime = ClientRuntime::start(fan_out_cpus.as_deref(), FAN_OUT_NICE)?;
    let http = reqwest::Client::builder().tcp_nodelay(true).build()?;
    let producer = Producer {
        http,
        url: format!("http://{}/api/v1/events", setup.instances[0]),
        key: setup.ingest_key.clone(),
    };
    let mix = crate::mix::events(20_000);
    let batches: Arc<Vec<Batch>> = Arc::new(mix.chunks(BATCH_SIZE).map(Batch::new).collect());
    let throughput = Duration::from_secs(args.throughput_seconds);

    let [first, second] = setup.instances;
    let clients = args.clients;
    eprintln!("memory: connecting {clients} idle stream clients");
    let before = rss_kib(setup.child_pid)?;
    let idle = Watchers::connect(first, &setup.read_key, clients, Filters::Half, &anywhere).await?;
    let per_connection = (rss_kib(setup.child_pid)? - before) as f64 / clients as f64;
    drop(idle.finish().await);

    let probe = Probe {
        vigil_pid: setup.child_pid,
        postmaster: setup.postmaster,
    };
    let measure = |label: &str| {
        let label = label.to_string();
        let (producer, batches, probe) = (&producer, &batches, &probe);
        async move {
            eprintln!("ingest throughput, {label}");
            settle(setup).await;
            let before = probe.sample();
            let stored = producer
                .max_rate(args.producers, batches, throughput)
                .await?;
            let phase = Phase::new(
                stored.rate,
                throughput.as_secs_f64(),
                before,
                probe.sample(),
            );
            anyhow::Ok((phase, stored))
        }
    };
    // Clients receiving: every one must still get every event it should, in order, even when
    // ingest outruns the fan-out (which yields the CPU to it); how much later is reported.
    let receiving = |label: String, runtime: Handle| {
        let measure = &measure;
        async move {
            let watchers =
                Watchers::connect(first, &setup.read_key, clients, Filters::Half, &runtime).await?;
            let (phase, stored) = measure(&label).await?;
            let ended = Instant::now();
            let caught_up = watchers
                .caught_up(stored.newest, stored.newest_failure, CATCH_UP_LIMIT)
                .await;
            let catch_up = ended.elapsed();
            let seen = watchers.finish().await;
            if seen.iter().any(|s| s.cut_off) {
                bail!("the server cut a stream client off during the throughput phase");
            }
            let faults: usize = seen.iter().map(|s| s.faults).sum();
            if faults > 0 {
                bail!("{faults} events reached clients out of order, twice, or after a gap");
            }
            if !caught_up {
                bail!("the stream clients had not caught up {CATCH_UP_LIMIT:?} after the phase");
            }
            anyhow::Ok(WithClients {
                label: format!("{clients} clients {label} (half everything, half failures)"),
                phase,
                catch_up: Some(catch_up),
            })
        }
    };
    autovacuum_off(&setup.database_url).await;
    let beside = match &fan_out_cpus {
        Some(cpus) => format!("on the fan-out's CPUs {cpus:?}"),
        None => "(the fan-out not confined, so neither are they)".to_string(),
    };
    let receivers = [
        (
            format!("receiving, {beside} at its nice {FAN_OUT_NICE} (browsers elsewhere)"),
            elsewhere_runtime.handle(),
        ),
        (
            format!("receiving, {beside} at nice 0"),
            beside_runtime.handle(),
        ),
        (
            "receiving, on any CPU (browsers on this machine)".to_string(),
            anywhere.clone(),
        ),
    ];
    // The first inserts into an empty table are faster than any later ones: not compared.
    measure("warm-up, not reported").await?;
    let mut alone = vec![measure("no stream clients").await?.0];
    let mut with_clients = Vec::new();
    for round in 1..=args.rounds {
        eprintln!("round {round} of {}", args.rounds);
        // The control: a phase measured and compared as the others are, with nobody attached.
        let (phase, _) = measure("nobody attached (the control)").await?;
        with_clients.push(WithClients {
            label: "nobody attached (the control: how far one phase moves by itself)".into(),
            phase,
            catch_up: None,
        });
        alone.push(measure("no stream clients").await?.0);
        let quiet = Watchers::connect(
            first,
            &setup.read_key,
            clients,
            Filters::NothingMatches,
            &anywhere,
        )
        .await?;
        let (phase, _) = measure("clients whose filters match nothing").await?;
        drop(quiet.finish().await);
        with_clients.push(WithClients {
            label: format!("{clients} clients attached whose filters match nothing"),
            phase,
            catch_up: None,
        });
        alone.push(measure("no stream clients").await?.0);
        for (label, runtime) in &receivers {
            with_clients.push(receiving(label.clone(), runtime.clone()).await?);
            alone.push(measure("no stream clients").await?.0);
        }
    }
    let throughput_rows = throughput::rows(&alone, &with_clients);

    let watchers =
        Watchers::connect(first, &setup.read_key, clients, Filters::Half, &anywhere).await?;
    eprintln!("latency, one instance");
    let local = producer.latency(args, &mix, watchers).await?;

    eprintln!("latency, clients on the second instance");
    let watchers =
        Watchers::connect(second, &setup.read_key, clients, Filters::Half, &anywhere).await?;
    let remote = producer.latency(args, &mix, watchers).await?;

    println!("\n| measurement | result |\n|---|---|");
    println!(
        "| ingest batches: {BATCH_SIZE} events × {} producers, {} s per phase | |",
        args.producers, args.throughput_seconds
    );
    for row in throughput_rows {
        println!("{row}");
    }
    println!("| memory per idle connection (child RSS delta) | {per_connection:.1} KiB |");
    for (label, l) in [("one instance", &local), ("across two instances", &remote)] {
        println!(
            "| POST acknowledged → received, {label}, {} events/s | p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms over {} deliveries; {} missing |",
            args.rate, l.p50, l.p99, l.max, l.deliveries, l.missing
        );
    }
    if local.missing + remote.missing > 0 {
        bail!("some clients missed events: see above");
    }
    Ok(())
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmRSS for pid {pid}"))
}
