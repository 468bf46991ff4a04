//! Storage: every SQL statement Vigil runs against the event log lives under this module.

mod dashboard;
mod events;

pub use events::NewEvent;

use sqlx::PgPool;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database cannot be reached right now; the caller should retry (HTTP 503).
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    #[error("database error: {0}")]
    Other(sqlx::Error),
}

impl From<sqlx::Error> for StorageError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                StorageError::Unavailable(err)
            }
            other => StorageError::Other(other),
        }
    }
}

/// The event log, over a pool. Cheap to clone.
#[derive(Clone, Debug)]
pub struct EventStore {
    pool: PgPool,
}

impl EventStore {
    pub fn new(pool: PgPool) -> Self {
        EventStore { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Answers once the database does: the health check.
    pub async fn ping(&self) -> Result<(), StorageError> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }
}
