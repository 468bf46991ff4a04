//! Fault drills: proof that nothing Vigil acknowledged is lost, and nothing is half-stored.
//!
//! `cargo run -p vigil-bench --bin faults -- crash --kills 20 --events 5000` kills a real
//! `vigil serve` with SIGKILL at random moments under load and restarts it;
//! `… faults -- db-restart --restarts 3` stops and starts PostgreSQL under load;
//! `… faults -- postmaster-kill --kills 2` kills `vigil serve`'s own embedded cluster with
//! SIGKILL (what the OOM killer does) and lets vigil restart it. Producers post
//! single events and batches with client `event_id`s and retry until acknowledged (or, now and
//! then, give a failed request up). Afterwards the database must hold every acknowledged event
//! exactly once, every given-up batch entirely or not at all, nothing else, and an unbroken
//! chain. `make test` runs both at a small scale; docs/BENCHMARKS.md has full-scale figures.

#[path = "faults/load.rs"]
mod load;
#[allow(dead_code)]
#[path = "loadgen/measure.rs"]
mod measure;
#[path = "faults/server.rs"]
mod server;
#[allow(dead_code)]
#[path = "loadgen/setup.rs"]
mod setup;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use rand::Rng;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use vigil_server::auth::{generate_key, hash_key};
use vigil_server::database::{create_database_if_missing, Database};
use vigil_server::embedded_pg::EmbeddedPostgres;
use vigil_server::storage::{EventStore, KeyKind, KeyStore};

#[derive(Parser, Debug)]
#[command(
    about = "Kill Vigil or restart PostgreSQL under load; check nothing acknowledged is lost"
)]
struct Args {
    #[command(subcommand)]
    drill: Drill,
    /// Where the embedded PostgreSQL cluster lives.
    #[arg(long, default_value = "target/faults-data", global = true)]
    data_dir: PathBuf,
    /// Events posted in all (about half in batches of 2 to 50).
    #[arg(long, default_value_t = 5_000, global = true)]
    events: usize,
    /// Concurrent producers.
    #[arg(long, default_value_t = 8, global = true)]
    producers: usize,
}

#[derive(Subcommand, Debug)]
enum Drill {
    /// SIGKILL `vigil serve` at random moments, restarting it each time.
    Crash {
        #[arg(long, default_value_t = 20)]
        kills: usize,
    },
    /// SIGKILL the postmaster of `vigil serve`'s own embedded cluster; vigil must restart it.
    PostmasterKill {
        #[arg(long, default_value_t = 2)]
        kills: usize,
    },
    /// Stop PostgreSQL for a few seconds under load, and start it again.
    DbRestart {
        #[arg(long, default_value_t = 3)]
        restarts: usize,
        /// How long the database stays down each time, in milliseconds.
        #[arg(long, default_value_t = 2_000)]
        down_ms: u64,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if let Drill::PostmasterKill { .. } = args.drill {
        return postmaster_kill(&args).await;
    }
    let mut postgres = setup::BenchPostgres::start(&args.data_dir, None).await?;
    postgres.drop_leftovers("faults").await?;
    let name = format!("faults_{}", uuid::Uuid::now_v7().simple());
    create_database_if_missing(&postgres.admin_url, &name).await?;
    let url = setup::with_database(&postgres.admin_url, &name)?;
    let outcome = drill(
        &args,
        &url,
        server::Where::Url(url.clone()),
        Some(&mut postgres),
    )
    .await;
    if let Err(err) = setup::drop_database(&postgres.admin_url, &name).await {
        eprintln!("warning: could not drop database {name}: {err:#}");
    }
    outcome.and(postgres.stop().await)
}

/// A fresh embedded cluster of vigil's own: the drill holds a claim on it (so it outlives the
/// server for the final check) and `vigil serve --data-dir` attaches to it and supervises it.
async fn postmaster_kill(args: &Args) -> Result<()> {
    let dir = args.data_dir.join("supervised");
    let _ = std::fs::remove_dir_all(&dir);
    let start_dir = dir.clone();
    let cluster =
        tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&start_dir)).await??;
    create_database_if_missing(&cluster.url("postgres"), "vigil").await?;
    let url = cluster.url("vigil");
    let outcome = drill(args, &url, server::Where::Embedded(dir), None).await;
    tokio::task::spawn_blocking(move || cluster.stop()).await??;
    outcome
}

/// The postmaster's pid, from the first line of `postmaster.pid`.
fn postmaster_pid(data_dir: &std::path::Path) -> Result<i32> {
    let text = std::fs::read_to_string(data_dir.join("pg/postmaster.pid"))?;
    Ok(text.lines().next().unwrap_or("").trim().parse()?)
}

/// Waits for the first acknowledgement after `since`: how long ingest took to come back.
async fn first_acknowledgement(load: &load::Load, timeout: Duration) -> Result<Duration> {
    let since = Instant::now();
    let acked = load.acknowledged_count();
    while load.acknowledged_count() == acked && !load.is_done() {
        if since.elapsed() > timeout {
            bail!("ingest did not recover within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(since.elapsed())
}

async fn drill(
    args: &Args,
    url: &str,
    serving: server::Where,
    mut postgres: Option<&mut setup::BenchPostgres>,
) -> Result<()> {
    let key = generate_key();
    {
        let database = Database::connect(url).await?;
        KeyStore::new(database.pool.clone())
            .create("faults", KeyKind::Ingest, &hash_key(&key))
            .await?;
        database.close().await?;
    }
    let mut vigil = server::Vigil::start(serving.clone()).await?;
    // The load should outlast the faults: about the drill's expected length.
    let span = match args.drill {
        Drill::Crash { kills } => Duration::from_millis(800 * kills as u64 + 1_000),
        Drill::PostmasterKill { kills } => Duration::from_millis(4_000 * kills as u64 + 1_000),
        Drill::DbRestart { restarts, down_ms } => {
            Duration::from_millis((2_500 + down_ms) * restarts as u64 + 1_000)
        }
    };
    let load = load::Load::start(vigil.base_url(), key, args.events, args.producers, span);
    let mut notes = Vec::new();
    match args.drill {
        Drill::Crash { kills } => {
            for kill in 1..=kills {
                pause_randomly(200..1200).await;
                // Strike while a request is being handled: that is the moment that matters.
                let waiting = Instant::now();
                while load.in_flight() == 0
                    && !load.is_done()
                    && waiting.elapsed() < Duration::from_secs(2)
                {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                vigil.kill_and_restart().await?;
                eprintln!("kill {kill}/{kills}: restarted");
            }
            notes.push(format!(
                "{kills} SIGKILLs of `vigil serve`, each restarted at once"
            ));
        }
        Drill::PostmasterKill { kills } => {
            let server::Where::Embedded(dir) = &serving else {
                bail!("the postmaster drill needs vigil's embedded cluster");
            };
            for kill in 1..=kills {
                pause_randomly(500..1500).await;
                let refused_before = load.refusals();
                let pid = postmaster_pid(dir)?;
                nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                )?;
                let killed = Instant::now();
                // Backends outlive their postmaster for a moment (and may still commit), so
                // recovery is timed from the new postmaster on.
                while postmaster_pid(dir).ok() == Some(pid) || postmaster_pid(dir).is_err() {
                    if killed.elapsed() > Duration::from_secs(60) {
                        bail!("vigil did not restart its PostgreSQL within 60 s");
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                let restarted = killed.elapsed();
                let back = first_acknowledgement(&load, Duration::from_secs(60)).await?;
                notes.push(format!(
                    "kill {kill}: postmaster {pid} SIGKILLed, restarted after {} ms, first acknowledgement {} ms after the kill, {} requests refused meanwhile",
                    restarted.as_millis(),
                    (restarted + back).as_millis(),
                    load.refusals() - refused_before,
                ));
                eprintln!("{}", notes.last().unwrap());
            }
        }
        Drill::DbRestart { restarts, down_ms } => {
            let postgres =
                (postgres.take()).context("the restart drill needs the benchmark's own cluster")?;
            for restart in 1..=restarts {
                pause_randomly(500..1500).await;
                let refused_before = load.refusals();
                postgres.stop_for_restart().await?;
                tokio::time::sleep(Duration::from_millis(down_ms)).await;
                postgres.start_again().await?;
                // Recovery: the first acknowledgement after PostgreSQL is back.
                let back = first_acknowledgement(&load, Duration::from_secs(30)).await?;
                notes.push(format!(
                    "restart {restart}: down {down_ms} ms, {} requests refused meanwhile, first acknowledgement {} ms after PostgreSQL was back",
                    load.refusals() - refused_before,
                    back.as_millis()
                ));
                eprintln!("{}", notes.last().unwrap());
            }
        }
    }
    notes.push(format!(
        "{} failed attempts (connection lost, 503, timeout), each retried or given up",
        load.refusals()
    ));
    let outcome = load.finish().await;
    vigil.stop().await?;
    let database = Database::connect(url).await?;
    let report = outcome.check(&database.pool).await?;
    let chain = EventStore::new(database.pool.clone())
        .verify_chain(None)
        .await?;
    database.close().await?;
    for note in &notes {
        println!("- {note}");
    }
    report.print();
    println!(
        "- chain: {}",
        match chain.first_bad_seq {
            None => format!("verified through seq {}", chain.through_seq),
            Some(seq) => format!("BROKEN at seq {seq}"),
        }
    );
    if !report.holds() || chain.first_bad_seq.is_some() {
        bail!("the drill found lost, duplicated or half-stored events");
    }
    Ok(())
}

async fn pause_randomly(millis: std::ops::Range<u64>) {
    let pause = rand::rng().random_range(millis);
    tokio::time::sleep(Duration::from_millis(pause)).await;
}
