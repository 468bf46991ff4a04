//! The fan-out's own threads, at a lower CPU priority than ingest.
//!
//! Storing an event is the audit record; showing it live is a view of that record. When both
//! want the CPU (a flood of events with many browsers open), the record should come first, so
//! matchers and connections run here, at nice 10, and catch up afterwards: from their group's
//! buffer, or from the database (one read per filter group; see `group.rs`), never losing an
//! event. Measured with `livebench` (200 receiving clients, ingest at its ceiling on 2 cores):
//! ingest lost 40–45% with this, 52–53% with the fan-out on ingest's threads or at nice 0.
//! `SCHED_IDLE` did no better than nice 10 and let the stream fall seconds behind.

use std::sync::OnceLock;
use tokio::runtime::{Builder, Handle, Runtime};

/// Nice value of the fan-out threads: below ingest's (0), so a busy machine serves ingest
/// first, but not idle-only, so the stream keeps moving while ingest is at its ceiling.
const FAN_OUT_NICE: i32 = 10;

/// The process's fan-out runtime, started on first use and kept for the life of the process
/// (so dropping an app, as tests do, never drops a runtime from inside another).
pub fn fan_out() -> Handle {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("vigil-live")
                .on_thread_start(lower_priority)
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
