//! Vigil's server: HTTP ingest, storage, live fan-out, the dashboard's backend and the CLI.

pub mod auth;
pub mod cli;
pub mod config;
pub mod database;
pub mod embedded_pg;
pub mod error;
pub mod export;
pub mod ingest;
pub mod live;
pub mod maintenance;
pub mod openapi;
pub mod read_api;
pub mod startup;
pub mod storage;
pub mod telemetry;
