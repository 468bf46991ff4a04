//! Storage: every SQL statement Vigil runs against the event log lives under this module.

pub mod alerts;
mod append;
mod bulk;
mod chain;
mod chart_sql;
mod columns;
mod conditions;
mod entities;
mod events;
mod facets;
mod keys;
mod operators;
pub mod partitions;
mod pieces;
mod query;
mod rollup;
mod sizes;
mod stats;
mod top_lists;
mod verify;
mod webhooks;
pub use verify::StoredLinks;

pub use append::{Appended, Staging, EVENTS_CHANNEL};
pub use columns::{csv_cells, csv_header};
pub use entities::{ProfileCaps, PROFILE_BUDGET, PROFILE_EVENTS_CAP};
pub use facets::{FACET_SAMPLE, FACET_VALUES};
pub use keys::{ActiveKey, ApiKeyRecord, CreateKeyError, KeyKind, KeyStore, KEY_CHANGES_CHANNEL};
pub use operators::{OperatorRecord, OperatorStore, Role};
pub use query::Cursor;
pub use sizes::StoredPart;
pub use stats::RAW_BUDGET;
pub use webhooks::{
    AttemptOutcome, ClaimedDelivery, DeliveryQuery, DeliveryRecord, DeliveryState, NewWebhook,
    WebhookFormat, WebhookRecord, WebhookSecret, WebhookTally,
};

use sqlx::PgPool;
use std::sync::Arc;

/// Cloneable (the errors are shared), because one failed group commit answers many requests.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StorageError {
    /// The database cannot be reached right now; the caller should retry (HTTP 503).
    #[error("database unavailable: {0}")]
    Unavailable(Arc<sqlx::Error>),
    #[error("database error: {0}")]
    Other(Arc<sqlx::Error>),
    /// Work only the schema's owner may do, asked of a store serving without its credential.
    #[error("only the database's owner may do this (run `vigil migrate` with DATABASE_URL)")]
    NotOwner,
}

impl From<sqlx::Error> for StorageError {
    fn from(err: sqlx::Error) -> Self {
        let unavailable = match &err {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => true,
            // Connection-level failures: the server is shutting down, restarting or refusing us.
            sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                code.starts_with("08") || code.starts_with("57P") || code == "53300"
            }),
            _ => false,
        };
        if unavailable {
            StorageError::Unavailable(Arc::new(err))
        } else {
            StorageError::Other(Arc::new(err))
        }
    }
}

/// The event log, over a pool. Cheap to clone.
#[derive(Clone, Debug)]
pub struct EventStore {
    /// Everyday reads and appends (the serving login's, under `vigil serve`).
    pool: PgPool,
    /// The schema owner's, for retention (dropping whole months) only; `None` when serving
    /// under `--app-database-url`, which holds no owner's credential.
    owner: Option<PgPool>,
}

impl EventStore {
    /// One pool for everything, the owner's: the command line, tests, benchmarks.
    pub fn new(pool: PgPool) -> Self {
        EventStore {
            owner: Some(pool.clone()),
            pool,
        }
    }

    /// Everyday work on `serving`, whose login may not change events; retention on `owner`.
    pub fn with_owner(serving: PgPool, owner: Option<PgPool>) -> Self {
        EventStore {
            pool: serving,
            owner,
        }
    }

    /// The owner's pool, which only retention needs.
    fn owner(&self) -> Result<&PgPool, StorageError> {
        self.owner.as_ref().ok_or(StorageError::NotOwner)
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The same database through a pool of its own, of at most `max` connections opened on
    /// first use. A connection stays with the runtime that opened it (its socket is driven by
    /// that runtime's reactor), so work on another runtime (the live fan-out, at a lower
    /// priority) gets its own pool instead of leaving its connections to the request handlers.
    pub fn with_own_pool(&self, max: u32) -> EventStore {
        let options = self.pool.options().clone().max_connections(max);
        EventStore {
            pool: options.connect_lazy_with((*self.pool.connect_options()).clone()),
            owner: self.owner.clone(),
        }
    }

    /// Answers once the database does: the health check.
    pub async fn ping(&self) -> Result<(), StorageError> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }

    /// The newest migration applied to this database (0 before any).
    pub async fn schema_version(&self) -> Result<i64, StorageError> {
        let version: Option<i64> =
            sqlx::query_scalar("select max(version) from _sqlx_migrations where success")
                .fetch_one(&self.pool)
                .await?;
        Ok(version.unwrap_or(0))
    }
}
