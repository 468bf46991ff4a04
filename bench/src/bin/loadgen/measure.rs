//! Measuring a phase: concurrent workers over a bounded job list, latencies, and CPU time split
//! between the load client, Vigil and PostgreSQL (all three share this machine's cores).

use anyhow::{anyhow, Result};
use std::fs;
use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest one job (an insert, a request) may take before the phase is abandoned.
pub const JOB_TIMEOUT: Duration = Duration::from_secs(30);
/// Name prefix of the threads that run Vigil, so their CPU time can be told from the client's.
pub const SERVER_THREADS: &str = "vigil-server";
/// Vigil's group-commit writer runs on a thread of its own.
const WRITER_THREAD: &str = "vigil-writer";
/// Linux reports process times in USER_HZ, which its user ABI fixes at 100.
const TICKS_PER_SECOND: f64 = 100.0;

/// What one phase did.
pub struct PhaseResult {
    pub label: String,
    /// Events stored (acknowledged, for the HTTP phases).
    pub events: u64,
    pub elapsed: Duration,
    /// Per insert or per request, sorted; empty when a phase has no meaningful unit (COPY).
    pub latencies: Vec<Duration>,
    /// Non-201 answers and transport errors, as text.
    pub refused: Vec<String>,
    /// True when the phase hit its time limit before sending every event.
    pub cut_short: bool,
    pub cpu: CpuTimes,
    /// Rows in the table after the phase and the number of transactions that wrote them.
    pub commits: Option<(i64, i64)>,
}

impl PhaseResult {
    pub fn new(label: impl Into<String>, events: u64, elapsed: Duration) -> Self {
        PhaseResult {
            label: label.into(),
            events,
            elapsed,
            latencies: Vec::new(),
            refused: Vec::new(),
            cut_short: false,
            cpu: CpuTimes::default(),
            commits: None,
        }
    }

    pub fn with_latencies(mut self, mut latencies: Vec<Duration>) -> Self {
        latencies.sort_unstable();
        self.latencies = latencies;
        self
    }

    pub fn rate(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Nearest-rank percentile in milliseconds.
    pub fn percentile_ms(&self, q: f64) -> Option<f64> {
        let n = self.latencies.len();
        if n == 0 {
            return None;
        }
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        Some(self.latencies[rank - 1].as_secs_f64() * 1e3)
    }
}

/// Each finished job's latency and output, and how long the whole run took.
pub struct Driven<T> {
    pub done: Vec<(Duration, T)>,
    pub elapsed: Duration,
    pub cut_short: bool,
}

/// Runs `clients` workers that each take the next job index until all `jobs` are taken or
/// `limit` has passed, so every phase stops by itself. A failing job stops every worker.
pub async fn drive<T, F, Fut>(
    clients: usize,
    jobs: usize,
    limit: Duration,
    work: F,
) -> Result<Driven<T>>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<T>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let deadline = started + limit;
    let workers: Vec<_> = (0..clients.clamp(1, jobs.max(1)))
        .map(|_| {
            let (next, stop, work) = (next.clone(), stop.clone(), work.clone());
            tokio::spawn(async move {
                let mut done = Vec::new();
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    let job = next.fetch_add(1, Ordering::Relaxed);
                    if job >= jobs {
                        break;
                    }
                    let sent = Instant::now();
                    let outcome = tokio::time::timeout(JOB_TIMEOUT, work(job)).await;
                    match outcome
                        .unwrap_or_else(|_| Err(anyhow!("job {job} took over {JOB_TIMEOUT:?}")))
                    {
                        Ok(out) => done.push((sent.elapsed(), out)),
                        Err(err) => {
                            stop.store(true, Ordering::Relaxed);
                            return Err(err);
                        }
                    }
                }
                Ok(done)
            })
        })
        .collect();
    let mut done = Vec::with_capacity(jobs);
    let mut first_error = None;
    for worker in workers {
        match worker.await? {
            Ok(part) => done.extend(part),
            Err(err) => {
                first_error.get_or_insert(err);
            }
        }
    }
    let elapsed = started.elapsed();
    match first_error {
        Some(err) => Err(err),
        None => Ok(Driven {
            cut_short: done.len() < jobs,
            done,
            elapsed,
        }),
    }
}

/// CPU seconds used, by whom.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuTimes {
    /// This process less Vigil's threads: the load generator itself.
    pub client: f64,
    /// Vigil's runtime threads (HTTP, parsing, the group-commit writer).
    pub server: f64,
    /// The postmaster and its backends; unknown for a server named by DATABASE_URL.
    pub postgres: Option<f64>,
}

impl CpuTimes {
    pub fn since(self, earlier: CpuTimes) -> CpuTimes {
        CpuTimes {
            // Per-thread and per-process tick counts are sampled apart: never report below zero.
            client: (self.client - earlier.client).max(0.0),
            server: (self.server - earlier.server).max(0.0),
            postgres: self
                .postgres
                .zip(earlier.postgres)
                .map(|(a, b)| (a - b).max(0.0)),
        }
    }
}

/// Reads CPU times from /proc (Linux); anything unreadable counts as zero.
pub struct CpuProbe {
    postmaster: Option<u32>,
}

impl CpuProbe {
    /// `postmaster`: the PID of the embedded cluster's postmaster, if there is one.
    pub fn new(postmaster: Option<u32>) -> Self {
        CpuProbe { postmaster }
    }

    pub fn sample(&self) -> CpuTimes {
        let total = stat(Path::new("/proc/self/stat")).map_or(0, |f| field(&f, 11) + field(&f, 12));
        let mut server = 0;
        for task in fs::read_dir("/proc/self/task")
            .into_iter()
            .flatten()
            .flatten()
        {
            let comm = fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if comm.starts_with(SERVER_THREADS) || comm.starts_with(WRITER_THREAD) {
                server +=
                    stat(&task.path().join("stat")).map_or(0, |f| field(&f, 11) + field(&f, 12));
            }
        }
        CpuTimes {
            client: (total.saturating_sub(server)) as f64 / TICKS_PER_SECOND,
            server: server as f64 / TICKS_PER_SECOND,
            postgres: self
                .postmaster
                .map(|pid| postgres_ticks(pid) as f64 / TICKS_PER_SECOND),
        }
    }
}

/// User and system CPU seconds of process `pid` so far (its threads included).
#[allow(dead_code)] // livebench's, which shares this file
pub fn process_seconds(pid: u32) -> f64 {
    let ticks = stat(&Path::new("/proc").join(pid.to_string()).join("stat"))
        .map_or(0, |f| field(&f, 11) + field(&f, 12));
    ticks as f64 / TICKS_PER_SECOND
}

/// CPU seconds of the postmaster and its backends so far.
#[allow(dead_code)] // livebench's, which shares this file
pub fn postgres_seconds(postmaster: u32) -> f64 {
    postgres_ticks(postmaster) as f64 / TICKS_PER_SECOND
}

/// The postmaster's own time, its reaped children's (backends that have exited), and that of
/// its live children.
fn postgres_ticks(postmaster: u32) -> u64 {
    let Some(own) = stat(&Path::new("/proc").join(postmaster.to_string()).join("stat")) else {
        return 0;
    };
    let mut ticks = (11..=14).map(|i| field(&own, i)).sum::<u64>();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let is_pid = entry
            .file_name()
            .to_string_lossy()
            .bytes()
            .all(|b| b.is_ascii_digit());
        if is_pid {
            if let Some(f) = stat(&entry.path().join("stat")) {
                if field(&f, 1) == u64::from(postmaster) {
                    ticks += field(&f, 11) + field(&f, 12);
                }
            }
        }
    }
    ticks
}

/// The fields of a /proc stat file after the command name (field 3, the state, is index 0).
fn stat(path: &Path) -> Option<Vec<String>> {
    let text = fs::read_to_string(path).ok()?;
    let (_, rest) = text.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

fn field(fields: &[String], index: usize) -> u64 {
    fields.get(index).and_then(|f| f.parse().ok()).unwrap_or(0)
}

/// The postmaster's PID, from the first line of `postmaster.pid` in PGDATA.
pub fn postmaster_pid(pgdata: &Path) -> Option<u32> {
    let text = fs::read_to_string(pgdata.join("postmaster.pid")).ok()?;
    text.lines().next()?.trim().parse().ok()
}
