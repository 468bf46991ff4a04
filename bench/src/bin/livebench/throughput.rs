//! Ingest throughput with and without stream clients, compared fairly.
//!
//! The table grows during a run and inserts slow down as it does (a first version of this
//! benchmark measured "no clients" first and blamed the clients for the slowdown), so every
//! phase with clients runs between two phases without and is compared with their mean. Where
//! the CPU went is reported beside each rate: Vigil (the child process), PostgreSQL, and this
//! process (the producers and the stream clients).
//!
//! One phase moves by itself: measured with nobody attached and compared the same way, single
//! phases came out between −6.9% and +5.5%. So every kind runs in several rounds, reported as
//! the mean and each round's figure, beside a control kind with nobody attached.

use std::time::Duration;

use crate::measure::{postgres_seconds, process_seconds};

/// Where the CPU is read from.
pub struct Probe {
    pub vigil_pid: u32,
    pub postmaster: Option<u32>,
}

/// CPU seconds so far.
#[derive(Clone, Copy)]
pub struct Cpu {
    vigil: f64,
    postgres: Option<f64>,
    bench: f64,
}

impl Probe {
    pub fn sample(&self) -> Cpu {
        Cpu {
            vigil: process_seconds(self.vigil_pid),
            postgres: self.postmaster.map(postgres_seconds),
            bench: process_seconds(std::process::id()),
        }
    }
}

/// One throughput phase: its rate and the CPU spent per 1,000 events.
#[derive(Clone, Copy)]
pub struct Phase {
    pub rate: f64,
    per_thousand: Cpu,
}

impl Phase {
    /// `rate` over `seconds`, with the CPU used between `before` and `after`.
    pub fn new(rate: f64, seconds: f64, before: Cpu, after: Cpu) -> Phase {
        let per = 1000.0 / (rate * seconds).max(1.0);
        Phase {
            rate,
            per_thousand: Cpu {
                vigil: (after.vigil - before.vigil) * per,
                postgres: after
                    .postgres
                    .zip(before.postgres)
                    .map(|(a, b)| (a - b) * per),
                bench: (after.bench - before.bench) * per,
            },
        }
    }
}

impl Cpu {
    fn mean(all: impl Iterator<Item = Cpu>) -> Cpu {
        let all: Vec<Cpu> = all.collect();
        let n = all.len().max(1) as f64;
        Cpu {
            vigil: all.iter().map(|c| c.vigil).sum::<f64>() / n,
            postgres: (all.iter().map(|c| c.postgres).sum::<Option<f64>>()).map(|p| p / n),
            bench: all.iter().map(|c| c.bench).sum::<f64>() / n,
        }
    }

    fn describe(&self) -> String {
        let postgres = self.postgres.map_or("?".into(), |p| format!("{p:.3}"));
        format!(
            "Vigil {:.3}, PostgreSQL {postgres}, producers + clients {:.3}",
            self.vigil, self.bench
        )
    }
}

/// A phase with clients, run between `alone[i]` and `alone[i + 1]`.
pub struct WithClients {
    pub label: String,
    pub phase: Phase,
    /// How long after the phase its clients had every event they should (none for clients
    /// that receive nothing).
    pub catch_up: Option<Duration>,
}

/// The report's rows: each kind of phase with clients (by label, over its rounds) against the
/// mean of the phases without clients around each of its phases.
pub fn rows(alone: &[Phase], with_clients: &[WithClients]) -> Vec<String> {
    let (slowest, fastest) = (alone.iter()).fold((f64::MAX, 0f64), |(lo, hi), p| {
        (lo.min(p.rate), hi.max(p.rate))
    });
    let mut rows = vec![format!(
        "| ingest without stream clients ({} phases, between the others) | {slowest:.0}–{fastest:.0} events/s (it falls as the table grows); CPU s per 1,000 events: {} |",
        alone.len(),
        Cpu::mean(alone.iter().map(|p| p.per_thousand)).describe(),
    )];
    let mut labels: Vec<&str> = Vec::new();
    for with in with_clients {
        if !labels.contains(&with.label.as_str()) {
            labels.push(&with.label);
        }
    }
    for label in labels {
        let kind: Vec<(usize, &WithClients)> = (with_clients.iter().enumerate())
            .filter(|(_, with)| with.label == label)
            .collect();
        let changes: Vec<f64> = (kind.iter())
            .map(|(i, with)| {
                let baseline = (alone[*i].rate + alone[i + 1].rate) / 2.0;
                100.0 * (with.phase.rate - baseline) / baseline
            })
            .collect();
        let each: Vec<String> = changes.iter().map(|c| format!("{c:+.1}%")).collect();
        let rate = kind.iter().map(|(_, w)| w.phase.rate).sum::<f64>() / kind.len() as f64;
        let cpu = Cpu::mean(kind.iter().map(|(_, w)| w.phase.per_thousand));
        let catch_up =
            (kind.iter().filter_map(|(_, w)| w.catch_up).max()).map_or(String::new(), |d| {
                format!(
                    "; every client had every event at most {:.1} s after its phase",
                    d.as_secs_f64()
                )
            });
        rows.push(format!(
            "| the same, {label} | **{:+.1}%** (rounds: {}; each against the mean of the phases around it); {rate:.0} events/s; CPU s per 1,000 events: {}{catch_up} |",
            changes.iter().sum::<f64>() / changes.len() as f64,
            each.join(", "),
            cpu.describe()
        ));
    }
    rows
}
