//! Where Vigil's threads run: the live fan-out on the CPUs `--live-cpus` chooses, and ingest's
//! writer off them while the fan-out is busy.
//!
//! Ingest's ceiling is one database backend inserting and committing in seq order (the hash
//! chain needs that order), so ingest is as fast as that backend's share of one core. A lower
//! priority alone did not protect it from the fan-out; confining the fan-out to the upper half
//! of the CPUs, and the writer to the rest while the fan-out has work, did. The measurements
//! are in docs/BENCHMARKS.md ("Live stream").

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::config::LiveCpus;

static CHOSEN: OnceLock<LiveCpus> = OnceLock::new();

/// Chooses the fan-out's CPUs (`vigil serve --live-cpus`); only a choice made before the
/// fan-out first runs takes effect, so `serve` makes it before building the app. The CPUs it
/// comes to, if any.
pub fn choose_cpus(choice: LiveCpus) -> Option<Vec<usize>> {
    if CHOSEN.set(choice.clone()).is_err() && CHOSEN.get() != Some(&choice) {
        tracing::warn!(%choice, "the fan-out already runs; --live-cpus ignored");
    }
    fan_out_cpus().clone()
}

/// The CPUs the fan-out is confined to (`None`: anywhere).
pub fn fan_out_cpus() -> &'static Option<Vec<usize>> {
    &placement().fan_out
}

/// Where ingest's writer thread runs: off the fan-out's CPUs while the fan-out is busy,
/// anywhere otherwise. The writer and the database backend it feeds take turns, and on the
/// fan-out's core the writer's turns waited while PostgreSQL idled; kept off it always, it was
/// crowded in with the backend when the fan-out had nothing to do. Hence the switch, on
/// `FanOutWork` (figures: docs/BENCHMARKS.md, "Live stream").
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
    /// Called on the writer's thread before each group, with the fan-out's work count.
    pub fn follow(&mut self, work: &FanOutWork) {
        self.follow_at(work.so_far(), Instant::now());
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
            if pin_current_thread(cpus) {
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
        let allowed = allowed();
        let fan_out = CHOSEN.get_or_init(LiveCpus::default).resolve(&allowed);
        let writer = (fan_out.as_deref()).and_then(|taken| all_but(&allowed, taken));
        Placement {
            allowed,
            fan_out,
            writer,
        }
    })
}

/// Events matched by the live fan-out's filter groups plus events written to connections (not
/// heartbeats), so far: what tells ingest's writer that the fan-out is busy (`WriterCpus`).
/// The hub, its matchers and its connections add to it; the writer reads it.
#[derive(Clone, Debug, Default)]
pub struct FanOutWork(Arc<AtomicU64>);

impl FanOutWork {
    pub fn add(&self, items: usize) {
        self.0.fetch_add(items as u64, Ordering::Relaxed);
    }

    pub fn so_far(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The CPUs the calling thread may run on (all of them where this cannot be asked).
pub fn allowed() -> Vec<usize> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: the set is a plain bit array the kernel fills; its size is passed along.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            let size = std::mem::size_of::<libc::cpu_set_t>();
            if libc::sched_getaffinity(0, size, &mut set) == 0 {
                return (0..libc::CPU_SETSIZE as usize)
                    .filter(|&cpu| libc::CPU_ISSET(cpu, &set))
                    .collect();
            }
        }
    }
    (0..std::thread::available_parallelism().map_or(1, usize::from)).collect()
}

/// The CPUs of `allowed` not in `taken`; `None` if there are none.
pub fn all_but(allowed: &[usize], taken: &[usize]) -> Option<Vec<usize>> {
    let rest: Vec<usize> = (allowed.iter().copied())
        .filter(|cpu| !taken.contains(cpu))
        .collect();
    (!rest.is_empty()).then_some(rest)
}

/// Confines the calling thread to `cpus`; false if the kernel refused.
pub fn pin_current_thread(cpus: &[usize]) -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: as above; 0 names the calling thread.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            for &cpu in cpus {
                libc::CPU_SET(cpu, &mut set);
            }
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = cpus;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_fan_out_leaves_is_the_rest() {
        assert_eq!(all_but(&[0, 1], &[1]), Some(vec![0]));
        assert_eq!(all_but(&[0, 1, 2, 3], &[2, 3, 7]), Some(vec![0, 1]));
        assert_eq!(all_but(&[0, 1], &[0, 1]), None);
    }

    #[test]
    fn a_thread_pinned_to_one_allowed_cpu_reports_only_it() {
        let allowed = allowed();
        assert!(!allowed.is_empty());
        let last = *allowed.last().unwrap();
        let seen = std::thread::spawn(move || {
            assert!(pin_current_thread(&[last]));
            super::allowed()
        })
        .join()
        .unwrap();
        assert_eq!(seen, vec![last]);
    }
    #[test]
    fn the_writer_keeps_off_the_fan_outs_cpus_only_while_the_fan_out_is_busy() {
        let placement = placement();
        let seen = std::thread::spawn(|| {
            let start = Instant::now();
            let mut writer = WriterCpus::default();
            writer.follow_at(0, start);
            let idle = allowed();
            writer.follow_at(3, start);
            let busy = allowed();
            writer.follow_at(3, start + BUSY_FOR / 2);
            let lull = allowed();
            writer.follow_at(3, start + BUSY_FOR * 2);
            [idle, busy, lull, allowed()]
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
