//! The fan-out's own threads: at a lower CPU priority than ingest, on CPUs of their own.
//!
//! Storing an event is the audit record; showing it live is a view of that record. When both
//! want the CPU (a flood of events with many browsers open), the record should come first, so
//! matchers and connections run here and catch up afterwards: from their group's buffer, or
//! from the database (one read per filter group; see `group.rs`), never losing an event.
//! Two things keep them out of ingest's way: nice 10, so ingest wins a contended CPU, and
//! (by default) half of the CPUs, so ingest's database backend keeps the other half's caches
//! (`cpus.rs` has the measurements).

use std::sync::OnceLock;
use tokio::runtime::{Builder, Handle, Runtime};

use super::cpus::{self, LiveCpus};

/// Nice value of the fan-out threads: below ingest's (0), so a busy machine serves ingest
/// first, but not idle-only, so the stream keeps moving while ingest is at its ceiling.
/// (`SCHED_IDLE` did no better in livebench and let the stream fall seconds behind.)
pub const FAN_OUT_NICE: i32 = 10;
/// Fan-out threads when they are not confined to chosen CPUs.
const UNPINNED_THREADS: usize = 2;

static CHOSEN: OnceLock<LiveCpus> = OnceLock::new();

/// Chooses the fan-out's CPUs (`vigil serve --live-cpus`); only a choice made before the
/// fan-out first runs takes effect, so `serve` makes it before building the app. The CPUs it
/// comes to, if any.
pub fn choose_cpus(choice: LiveCpus) -> Option<Vec<usize>> {
    if CHOSEN.set(choice.clone()).is_err() && CHOSEN.get() != Some(&choice) {
        tracing::warn!(%choice, "the fan-out already runs; --live-cpus ignored");
    }
    pinned_cpus().clone()
}

/// The CPUs the fan-out is confined to (`None`: anywhere).
fn pinned_cpus() -> &'static Option<Vec<usize>> {
    &placement().fan_out
}

/// The CPUs the fan-out leaves, for ingest's writer (`None`: anywhere, as when the fan-out is
/// not confined). The writer and the database backend it feeds take turns (one prepares the
/// next group while the other waits for it), so on a core of their own a turn starts at once;
/// on the fan-out's core the writer's turn waited behind busy fan-out threads, nice 10 or not,
/// and PostgreSQL idled meanwhile. livebench, clients standing in for browsers elsewhere:
/// ingest −19.5% with the writer free to run on either core; +1.9% and −6.0% confined to the
/// other.
pub fn writer_cpus() -> Option<&'static [usize]> {
    placement().writer.as_deref()
}

/// Where the fan-out and the writer run, resolved once from the CPUs the process may use.
struct Placement {
    fan_out: Option<Vec<usize>>,
    writer: Option<Vec<usize>>,
}

fn placement() -> &'static Placement {
    static RESOLVED: OnceLock<Placement> = OnceLock::new();
    RESOLVED.get_or_init(|| {
        let allowed = cpus::allowed();
        let fan_out = CHOSEN.get_or_init(LiveCpus::default).resolve(&allowed);
        let writer = (fan_out.as_deref()).and_then(|taken| cpus::all_but(&allowed, taken));
        Placement { fan_out, writer }
    })
}

/// The process's fan-out runtime, started on first use and kept for the life of the process
/// (so dropping an app, as tests do, never drops a runtime from inside another).
pub fn fan_out() -> Handle {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let pinned = pinned_cpus().clone();
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
        let expected = pinned_cpus().clone().unwrap_or(everywhere.clone());
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

    #[test]
    fn the_writer_gets_the_cpus_the_fan_out_leaves() {
        let everywhere = cpus::allowed();
        match (pinned_cpus(), writer_cpus()) {
            (Some(fan_out), Some(writer)) => {
                let mut both = [fan_out.as_slice(), writer].concat();
                both.sort_unstable();
                assert_eq!(both, everywhere, "between them, every CPU, none twice");
            }
            (Some(fan_out), None) => assert_eq!(fan_out, &everywhere, "nothing left"),
            (None, writer) => assert_eq!(writer, None, "nothing confined, nothing left over"),
        }
    }
}
