//! Ingest throughput with and without stream clients, compared fairly.
//!
//! The table grows during a run and inserts slow down as it does (a first version of this
//! benchmark measured "no clients" first and blamed the clients for the slowdown), so every
//! phase with clients runs between two phases without and is compared with their mean. Where
//! the CPU went is reported beside each rate: Vigil (the child process), PostgreSQL, and this
//! process (the producers and the stream clients).

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

/// The report's rows: each phase with clients against the mean of its neighbours.
pub fn rows(alone: &[Phase; 3], quiet: &Phase, receiving: &Phase, clients: usize) -> Vec<String> {
    let compared = |phase: &Phase, before: &Phase, after: &Phase| {
        let baseline = (before.rate + after.rate) / 2.0;
        format!(
            "{:.0} events/s ({:+.1}% against {baseline:.0}, the mean of the phases around it); CPU s per 1,000 events: {}",
            phase.rate,
            100.0 * (phase.rate - baseline) / baseline,
            phase.cpu()
        )
    };
    let [first, second, third] = alone;
    let mut rows = vec![format!(
        "| ingest without stream clients (three phases, between the others) | {:.0}, {:.0}, {:.0} events/s; CPU s per 1,000 events (first): {} |",
        first.rate,
        second.rate,
        third.rate,
        first.cpu()
    )];
    rows.push(format!(
        "| the same, {clients} clients attached whose filters match nothing | {} |",
        compared(quiet, first, second)
    ));
    rows.push(format!(
        "| the same, {clients} clients receiving (half everything, half failures) | {} |",
        compared(receiving, second, third)
    ));
    rows
}
