//! Vigil's server: HTTP ingest, storage, live fan-out, the dashboard's backend and the CLI.
//! The rooms and the arrows between them are drawn in docs/ARCHITECTURE.md.

pub mod auth;
pub mod cli;
pub mod config;
pub mod cpus;
pub mod database;
pub mod embedded_pg;
pub mod events;
pub mod http;
pub mod ingest;
pub mod live;
pub mod maintenance;
pub mod storage;
pub mod telemetry;

/// mimalloc rather than glibc's allocator: ingest allocates and frees every event's strings
/// several times over (parse, number, hash, stage, reply), and the live fan-out frees on its own
/// threads what ingest allocated. Measured (2026-11-28, loadgen, three alternated runs each):
/// single-event ingest 16,580 → 17,626 events/s (+6%), batches +1%; in livebench Vigil's CPU per
/// 1,000 batched events fell from 0.010 to 0.008 s. Its cost: an idle stream connection's RSS
/// delta read 25 KiB in two runs of three (14 KiB with glibc): it commits memory in larger steps.
/// Declared in the library so that the benchmarks and tests run on the allocator the binary does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
