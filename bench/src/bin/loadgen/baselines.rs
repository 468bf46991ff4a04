//! The two database baselines Vigil is measured against, written straight into `events`: COPY
//! (about the most one writer can push) and one row per transaction (what a service that commits
//! every event on its own, like the seed's AuditService, can reach at best).

use anyhow::{Context, Result};
use chrono::Utc;
use ipnetwork::IpNetwork;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::{Duration, Instant};
use vigil_server::events::NewEvent;
use vigil_server::storage::EventStore;

use crate::measure::{drive, PhaseResult};

/// The columns a plain single-row insert fills: `seq` from a sequence of its own and no chain
/// hash, as a service writing its own audit table would.
const COLUMNS: &str = "seq, id, event_type, category, action, action_result, severity, user_id, \
    username, ip_address, user_agent, session_fingerprint, mfa_used, reason, error_message, \
    token_type, expires_at, client_id, scope, forced, api_key_id, api_key_name, event_data, \
    occurred_at, source";
/// One COPY of every event on one connection, in one transaction, with the same encoder
/// `vigil demo-data` uses. Encoding the rows is timed; parsing the JSON is not (it was done
/// before, with Vigil's own parser).
pub async fn copy_ceiling(
    pool: &PgPool,
    events: &[NewEvent],
    limit: Duration,
) -> Result<PhaseResult> {
    let store = EventStore::new(pool.clone());
    let started = Instant::now();
    let copy = async {
        // Numbered and chained like every append, so the ceiling includes the hashing.
        let now = Utc::now();
        let rows: Vec<(NewEvent, _)> = events.iter().map(|e| (e.clone(), now)).collect();
        store.append_bulk(&rows).await
    };
    let rows = tokio::time::timeout(limit, copy)
        .await
        .context("COPY overran the phase time limit")?
        .context("COPY failed")?;
    Ok(PhaseResult::new(
        "a. COPY ceiling (1 connection)",
        rows,
        started.elapsed(),
    ))
}

/// `clients` workers over the pool's connections, each inserting one row per statement in
/// autocommit mode, so every event waits for its own COMMIT (PostgreSQL still lets concurrent
/// commits share one WAL flush).
pub async fn row_per_transaction(
    pool: &PgPool,
    events: Arc<Vec<NewEvent>>,
    clients: usize,
    limit: Duration,
) -> Result<PhaseResult> {
    let sql = Arc::new(format!(
        "insert into events ({COLUMNS}) values (nextval('loadgen_baseline_seq'), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
         $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, coalesce($23, now()), $24) \
         returning seq"
    ));
    let connections = pool.options().get_max_connections();
    let pool = pool.clone();
    let jobs = events.len();
    let driven = drive(clients, jobs, limit, move |i| {
        let (pool, events, sql) = (pool.clone(), events.clone(), sql.clone());
        async move { insert_one(&pool, &sql, &events[i]).await }
    })
    .await?;
    let latencies = driven.done.iter().map(|(latency, _)| *latency).collect();
    let label = format!("b. one row per transaction ({connections} connections)");
    let mut result =
        PhaseResult::new(label, driven.done.len() as u64, driven.elapsed).with_latencies(latencies);
    result.cut_short = driven.cut_short;
    Ok(result)
}

async fn insert_one(pool: &PgPool, sql: &str, e: &NewEvent) -> Result<i64> {
    sqlx::query_scalar(sql)
        .bind(e.id)
        .bind(e.event_type.as_str())
        .bind(e.event_type.category().as_str())
        .bind(&e.action)
        .bind(e.action_result.as_str())
        .bind(e.severity.as_str())
        .bind(&e.user_id)
        .bind(&e.username)
        .bind(e.ip_address.map(IpNetwork::from))
        .bind(&e.user_agent)
        .bind(&e.session_fingerprint)
        .bind(e.mfa_used)
        .bind(&e.reason)
        .bind(&e.error_message)
        .bind(&e.token_type)
        .bind(e.expires_at)
        .bind(&e.client_id)
        .bind(&e.scope)
        .bind(e.forced)
        .bind(&e.api_key_id)
        .bind(&e.api_key_name)
        .bind(&e.event_data)
        .bind(e.occurred_at)
        .bind(&e.source)
        .fetch_one(pool)
        .await
        .context("single-row insert failed")
}

/// Empties the table between phases, so each starts from the same state. The log is
/// append-only, so this switches its triggers off for the transaction (the benchmark connects
/// as the embedded cluster's superuser) and restarts the chain.
pub async fn truncate(pool: &PgPool) -> Result<()> {
    let mut tx = pool.begin().await?;
    for statement in [
        "set local session_replication_role = replica",
        "truncate events",
        "truncate event_counts, failure_windows",
        "update rollup_cursor set seq = 0",
        "update chain_head set seq = 0, hash = '\\x0000000000000000000000000000000000000000000000000000000000000000'",
        "create sequence if not exists loadgen_baseline_seq",
        "alter sequence loadgen_baseline_seq restart",
    ] {
        sqlx::query(statement).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Rows in `events`, and how many transactions wrote them: rows inserted by one transaction
/// share its `xmin`, so this shows how well commits were grouped.
pub async fn rows_and_commits(pool: &PgPool) -> Result<(i64, i64)> {
    Ok(
        sqlx::query_as("select count(*), count(distinct xmin::text) from events")
            .fetch_one(pool)
            .await?,
    )
}
