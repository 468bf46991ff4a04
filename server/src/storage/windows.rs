//! Top lists over the last 24 hours, 7 or 30 days, read from running windows of failures by
//! address and username (migrations/0009_failure_windows.sql): one row per distinct value
//! whatever the traffic, less the few raw rows between a window's start and the list's.

use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;
use vigil_wire::{EventFilter, Ranked};

use super::query::push_conditions;
use super::{EventStore, StorageError};

/// How far before a top list's `since` a running window may start: the failures in between
/// are counted from raw rows, a minute or so of them while `vigil serve` advances the windows.
const MAX_WINDOW_LAG: chrono::Duration = chrono::Duration::minutes(10);

/// A running window of `failure_windows`: failures with `occurred_at >= start`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Window {
    span: i32,
    start: DateTime<Utc>,
}

impl EventStore {
    /// The running window (`failure_windows`) that can answer `[since, until)`: `until` is now
    /// and the window starts a little before `since`.
    pub(super) async fn window_for(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<Window>, StorageError> {
        if until < now - chrono::Duration::seconds(5) {
            return Ok(None);
        }
        let starts: Vec<(i32, DateTime<Utc>)> =
            sqlx::query_as("select span, start from failure_window_starts order by span")
                .fetch_all(&self.pool)
                .await?;
        Ok(starts
            .into_iter()
            .find(|(_, start)| *start <= since && since - *start <= MAX_WINDOW_LAG)
            .map(|(span, start)| Window { span, start }))
    }

    /// The top values from a running window, less the failures in it before `since` and those
    /// dated at or after `until` (the future): a few raw rows.
    pub(super) async fn top_from_window(
        &self,
        filter: &EventFilter,
        window: Window,
        (since, until): (DateTime<Utc>, DateTime<Utc>),
        (column, dimension): (&str, &str),
        limit: u32,
    ) -> Result<Vec<Ranked>, StorageError> {
        let now = Utc::now();
        let mut types_only = filter.clone();
        types_only.result = None;
        let mut sql = QueryBuilder::new(
            "with counted as (select value, sum(n) as n from failure_windows where span = ",
        );
        sql.push_bind(window.span)
            .push(" and dimension = ")
            .push_bind(dimension);
        push_conditions(&mut sql, &types_only, now);
        sql.push(format!(
            " group by 1), outside as (select {column} as value, count(*) as n from events \
             where {column} is not null"
        ));
        push_conditions(&mut sql, filter, now);
        sql.push(" and ((occurred_at >= ")
            .push_bind(window.start)
            .push(" and occurred_at < ")
            .push_bind(since)
            .push(") or occurred_at >= ")
            .push_bind(until);
        sql.push(
            ") group by 1) select c.value, (c.n - coalesce(o.n, 0))::bigint from counted c \
             left join outside o using (value) where c.n - coalesce(o.n, 0) > 0 \
             order by 2 desc, 1 limit ",
        )
        .push_bind(i64::from(limit));
        let rows: Vec<(String, i64)> = sql.build_query_as().fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(|(value, count)| Ranked { value, count })
            .collect())
    }

    /// Moves the running windows' starts up to the minute (see migrations/0009): `vigil serve`
    /// calls it every few seconds.
    pub async fn advance_failure_windows(&self) -> Result<(), StorageError> {
        sqlx::query("select advance_failure_windows()")
            .execute(&self.owner)
            .await?;
        Ok(())
    }

    /// Counts the running windows again from the rows: after retention dropped some.
    pub async fn rebuild_failure_windows(&self) -> Result<(), StorageError> {
        sqlx::query("select rebuild_failure_windows()")
            .execute(&self.owner)
            .await?;
        Ok(())
    }
}
