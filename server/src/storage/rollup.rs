//! Keeping the aggregates (migrations/0008_rollups.sql): counting the events after the roll-up
//! cursor, moving the failure windows on, and counting those again after retention.

use super::{EventStore, StorageError};

/// Events counted per transaction, so catching up after a bulk load never holds one for long.
const ROLL_UP_ROWS: i64 = 100_000;

impl EventStore {
    /// Counts up to `ROLL_UP_ROWS` events not in the aggregates yet; returns how many.
    pub async fn roll_up(&self) -> Result<u64, StorageError> {
        let rolled: i64 = sqlx::query_scalar("select roll_up($1)")
            .bind(ROLL_UP_ROWS)
            .fetch_one(&self.pool)
            .await?;
        Ok(rolled as u64)
    }

    /// Counts every event not in the aggregates yet: after a bulk load.
    pub async fn roll_up_all(&self) -> Result<u64, StorageError> {
        let mut total = 0;
        loop {
            let rolled = self.roll_up().await?;
            total += rolled;
            if rolled < ROLL_UP_ROWS as u64 {
                return Ok(total);
            }
        }
    }

    /// Moves the running windows' starts up to the minute: `vigil serve` does it every few
    /// seconds.
    pub async fn advance_failure_windows(&self) -> Result<(), StorageError> {
        sqlx::query("select advance_failure_windows()")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Counts the running windows again from the rolled-up rows: after retention dropped some.
    pub async fn rebuild_failure_windows(&self) -> Result<(), StorageError> {
        sqlx::query("select rebuild_failure_windows()")
            .execute(self.owner()?)
            .await?;
        Ok(())
    }
}
