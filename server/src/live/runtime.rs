//! The fan-out's own threads: at a lower CPU priority than ingest, on CPUs of their own.
//!
//! Storing an event is the audit record; showing it live is a view of that record. When both
//! want the CPU (a flood of events with many browsers open), the record should come first, so
//! matchers and connections run here and catch up afterwards: from their group's buffer, or
//! from the database (one read per filter group; see `group.rs`), never losing an event.
//! Three things keep them out of ingest's way: nice 10, so ingest wins a contended CPU;
//! (by default) half of the CPUs, so ingest's database backend keeps the other half's caches;
//! and, while they are busy, ingest's writer keeps to that other half (`crate::cpus`).

use std::sync::OnceLock;
use tokio::runtime::{Builder, Handle, Runtime};

use crate::cpus::{self, fan_out_cpus};

/// Nice value of the fan-out threads: below ingest's (0), so a busy machine serves ingest
/// first, but not idle-only, so the stream keeps moving while ingest is at its ceiling.
/// (`SCHED_IDLE` did no better in livebench and let the stream fall seconds behind.)
pub const FAN_OUT_NICE: i32 = 10;
/// Fan-out threads when they are not confined to chosen CPUs.
const UNPINNED_THREADS: usize = 2;

/// The process's fan-out runtime, started on first use and kept for the life of the process
/// (so dropping an app, as tests do, never drops a runtime from inside another).
pub fn fan_out() -> Handle {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let pinned = fan_out_cpus().clone();
            let threads = pinned.as_ref().map_or(UNPINNED_THREADS, Vec::len);
            Builder::new_multi_thread()
                .worker_threads(threads)
                .thread_name("vigil-live")
                .on_thread_start(move || {
                    lower_priority();
                    if let Some(cpus) = &pinned {
                        if !cpus::pin_current_thread(cpus) {
                            tracing::debug!(?cpus, "could not confine a fan-out thread");
                        }
                    }
                })
                .enable_all()
                .build()
                .expect("the fan-out runtime starts")
        })
        .handle()
        .clone()
}

/// Linux keeps a nice value per thread: this lowers only the calling thread's.
fn lower_priority() {
    // SAFETY: setpriority reads no memory; with PRIO_PROCESS and 0 it names the calling thread.
    let result = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, FAN_OUT_NICE) };
    if result != 0 {
        tracing::debug!("could not lower the fan-out threads' priority");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fan_out_threads_run_only_on_the_chosen_cpus() {
        let everywhere = cpus::allowed();
        let expected = fan_out_cpus().clone().unwrap_or(everywhere.clone());
        if everywhere.len() >= 2 {
            assert!(
                expected.len() < everywhere.len(),
                "auto leaves CPUs to ingest"
            );
        }
        let seen = fan_out()
            .spawn(async { cpus::allowed() })
            .await
            .expect("the probe runs");
        assert_eq!(seen, expected);
    }
}
