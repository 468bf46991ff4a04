//! Ingest throughput with and without stream clients, compared fairly.
//!
//! The table grows during a run and inserts slow down as it does (a first version of this
//! benchmark measured "no clients" first and blamed the clients for the slowdown), so every
//! phase with clients runs between two phases without and is compared with their mean. Where
//! the CPU went is reported beside each rate: Vigil (the child process), PostgreSQL, and this
//! process (the producers and the stream clients).

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

    fn cpu(&self) -> String {
        let c = &self.per_thousand;
        let postgres = c.postgres.map_or("?".into(), |p| format!("{p:.3}"));
        format!(
            "Vigil {:.3}, PostgreSQL {postgres}, producers + clients {:.3}",
            c.vigil, c.bench
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

/// The report's rows: each phase with clients against the mean of its neighbours.
pub fn rows(alone: &[Phase], with_clients: &[WithClients]) -> Vec<String> {
    let rates: Vec<String> = (alone.iter())
        .map(|p| format!("{:.0} ({})", p.rate, p.cpu()))
        .collect();
    let mut rows = vec![format!(
        "| ingest without stream clients ({} phases, between the others) | events/s (CPU s per 1,000 events): {} |",
        alone.len(),
        rates.join("; "),
    )];
    for (i, with) in with_clients.iter().enumerate() {
        let baseline = (alone[i].rate + alone[i + 1].rate) / 2.0;
        let phase = &with.phase;
        let catch_up = with.catch_up.map_or(String::new(), |d| {
            format!(
                "; every client had every event {:.1} s after the phase",
                d.as_secs_f64()
            )
        });
        rows.push(format!(
            "| the same, {} | {:.0} events/s ({:+.1}% against {baseline:.0}, the mean of the phases around it); CPU s per 1,000 events: {}{catch_up} |",
            with.label,
            phase.rate,
            100.0 * (phase.rate - baseline) / baseline,
            phase.cpu()
        ));
    }
    rows
}
