//! Vigil's server: HTTP ingest, storage, live fan-out, the dashboard's backend and the CLI.
//! The rooms and the arrows between them are drawn in docs/ARCHITECTURE.md.

pub mod auth;
pub mod checkpoints;
pub mod cli;
pub mod config;
pub mod cpus;
pub mod database;
pub mod detect;
pub mod embedded_pg;
pub mod events;
pub mod http;
pub mod ingest;
pub mod live;
pub mod maintenance;
pub mod metrics;
pub mod storage;
pub mod telemetry;
pub mod webhooks;

/// mimalloc rather than glibc's allocator: ingest allocates and frees every event's strings
/// several times over, and the live fan-out frees on its own threads what ingest allocated
/// (+6% single-event ingest; docs/BENCHMARKS.md, "Ingest"). Declared in the library so that the
/// benchmarks and tests run on the allocator the binary does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
