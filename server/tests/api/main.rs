//! Vigil's integration tests, in one binary so the server and Leptos are linked once: each module
//! starts the real app on port 0 against a fresh database of its own in one embedded cluster.

mod common;

mod administration;
mod aggregates;
mod alert_tally;
mod alerts_dashboard;
mod assets;
mod chain;
mod checkpoints;
mod cli;
mod cli_checkpoints;
mod dashboard;
mod demo_data;
mod detections;
mod detections_cli;
mod detections_failover;
mod entities;
mod exclusions;
mod export;
mod fuzz_corpus;
mod ingest;
mod ingest_auth;
mod ingest_batches;
mod ingest_fuzz;
mod ingest_producers;
mod live_groups;
mod live_resume;
mod live_stream;
mod merged_ranges;
mod migrations;
mod operations;
mod operators;
mod query;
mod retention;
mod sdk;
mod security_access;
mod security_connections;
mod security_origin;
mod security_sign_in;
mod serving_login;
mod tail;
mod webhooks;
