//! The fan-out's own threads: at a lower CPU priority than ingest, on CPUs of their own.
//!
//! Storing an event is the audit record; showing it live is a view of that record. When both
//! want the CPU (a flood of events with many browsers open), the record should come first, so
//! matchers and connections run here and catch up afterwards: from their group's buffer, or
//! from the database (one read per filter group; see `group.rs`), never losing an event.
//! Three things keep them out of ingest's way: nice 10, so ingest wins a contended CPU;
//! (by default) half of the CPUs, so ingest's database backend keeps the other half's caches;
//! and, while they are busy, ingest's writer keeps to that other half (`WriterCpus`; `cpus.rs`
//! has the measurements).

use std::sync::OnceLock;
use std::time::{Duration, Instant};
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

/// Where ingest's writer thread runs: off the fan-out's CPUs while the fan-out is busy,
/// anywhere otherwise. The writer and the database backend it feeds take turns (one prepares
/// the next group while the other waits for it). On the fan-out's core the writer's turn
/// waited behind busy fan-out threads, nice 10 or not, while PostgreSQL idled: livebench,
/// clients standing in for browsers elsewhere, ingest −19.5% with the writer free, +1.9% to
/// +7.5% with it on the CPUs the fan-out leaves. But when the fan-out has nothing to do, that
/// only crowds the writer in with the backend and the request handlers: single-event ingest
/// (loadgen) fell from 18–19k to 14.5–16.6k events/s, and with clients whose filters matched
/// nothing batched ingest lost 19% instead of 2–7%. Hence the switch, on `LiveHub::fan_out_work`.
#[derive(Debug, Default)]
pub struct WriterCpus {
    confined: bool,
    /// The hub's work count when last seen, and when it last moved.
    seen: u64,
    busy_at: Option<Instant>,
}

/// How long the writer stays off the fan-out's CPUs after the fan-out last had work, so that a
/// lull between two groups does not move it back and forth.
const BUSY_FOR: Duration = Duration::from_secs(1);

impl WriterCpus {
    /// Called on the writer's thread before each group, with `LiveHub::fan_out_work`.
    pub fn follow(&mut self, work: u64) {
        self.follow_at(work, Instant::now());
    }

    fn follow_at(&mut self, work: u64, now: Instant) {
        let placement = placement();
        let Some(writer) = &placement.writer else {
            return; // the fan-out is not confined: nothing to keep away from
        };
        if work != self.seen {
            self.seen = work;
            self.busy_at = Some(now);
        }
        let busy = (self.busy_at).is_some_and(|at| now.saturating_duration_since(at) < BUSY_FOR);
        if busy != self.confined {
            let cpus = if busy { writer } else { &placement.allowed };
            if cpus::pin_current_thread(cpus) {
                self.confined = busy;
            }
        }
    }
}

/// Where the fan-out and the writer run, resolved once from the CPUs the process may use.
struct Placement {
    allowed: Vec<usize>,
    fan_out: Option<Vec<usize>>,
    /// The CPUs the fan-out leaves (`None` when it is not confined).
    writer: Option<Vec<usize>>,
}

fn placement() -> &'static Placement {
    static RESOLVED: OnceLock<Placement> = OnceLock::new();
    RESOLVED.get_or_init(|| {
        let allowed = cpus::allowed();
        let fan_out = CHOSEN.get_or_init(LiveCpus::default).resolve(&allowed);
        let writer = (fan_out.as_deref()).and_then(|taken| cpus::all_but(&allowed, taken));
        Placement {
            allowed,
            fan_out,
            writer,
        }
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
    fn the_writer_keeps_off_the_fan_outs_cpus_only_while_the_fan_out_is_busy() {
        let placement = placement();
        let seen = std::thread::spawn(|| {
            let start = Instant::now();
            let mut writer = WriterCpus::default();
            writer.follow_at(0, start);
            let idle = cpus::allowed();
            writer.follow_at(3, start);
            let busy = cpus::allowed();
            writer.follow_at(3, start + BUSY_FOR / 2);
            let lull = cpus::allowed();
            writer.follow_at(3, start + BUSY_FOR * 2);
            [idle, busy, lull, cpus::allowed()]
        })
        .join()
        .expect("the probe runs");
        let [idle, busy, lull, idle_again] = seen;
        assert_eq!(idle, placement.allowed, "no work yet");
        assert_eq!(lull, busy, "a short lull moves nothing");
        assert_eq!(idle_again, placement.allowed, "a second without work");
        match (&placement.fan_out, &placement.writer) {
            (Some(fan_out), Some(writer)) => {
                assert_eq!(&busy, writer);
                let mut both = [fan_out.as_slice(), writer].concat();
                both.sort_unstable();
                assert_eq!(
                    both, placement.allowed,
                    "between them, every CPU, none twice"
                );
            }
            _ => assert_eq!(busy, placement.allowed, "nothing to keep off"),
        }
    }
}
