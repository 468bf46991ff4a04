//! The dashboard's charts and top lists: volume per time bucket and the most frequent values.
//!
//! Filters the aggregates cover (event type, category, result, severity, source; see
//! migrations/0008_rollups.sql) are answered from them plus the events not rolled up yet: a
//! range is split into whole days, hours and minutes plus the raw rows of its partial ends
//! (`pieces`), so the cost follows the range, not the table. Top lists over the last 24 hours,
//! 7 or 30 days read a running window instead, one row per distinct value. Any other filter (a
//! person, an address, a session, text) counts raw rows, but only for `RAW_BUDGET`: past it the
//! answer is `None`, "refine your filter", never a page that takes seconds.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder};
use std::time::Duration;
use vigil_wire::{ActionResult, Bucket, EventFilter, RankBy, Ranked};

use super::chart_sql::{aligned, volume_sql};
use super::pieces::{coarsest_dividing, pieces, Grain, Piece, DAY, HOUR, MINUTE, RAW};
use super::query::MERGE_RANGES;
use super::top_lists::{window_in, TopList};
use super::{EventStore, StorageError};

/// How long a chart or top list may spend counting raw rows when no aggregate covers its filter.
pub const RAW_BUDGET: Duration = Duration::from_millis(250);
/// The grains `event_counts` keeps.
const CHART_GRAINS: [Grain; 3] = [MINUTE, HOUR, DAY];

impl EventStore {
    /// Matching events per bucket of `bucket_seconds` over `[since, until)`, buckets aligned on
    /// whole multiples of their width from 2001-01-01 UTC (so the first and last may be partly
    /// outside the range, and count only what is inside); empty buckets included, so a chart
    /// shows quiet time as quiet. `None`: over the raw-row budget.
    #[tracing::instrument(skip(self))]
    pub async fn volume(
        &self,
        filter: &EventFilter,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        bucket_seconds: i64,
    ) -> Result<Option<Vec<Bucket>>, StorageError> {
        let filter = without_range(filter);
        let grains = coarsest_dividing(bucket_seconds, &CHART_GRAINS);
        let rows: Vec<(DateTime<Utc>, i64)> = if charts_cover(&filter) && !grains.is_empty() {
            let counted = pieces(since, until, grains);
            self.fetch_rolled(|snapshot| {
                Some(volume_sql(
                    &filter,
                    &counted,
                    bucket_seconds,
                    Some(snapshot.cursor),
                ))
            })
            .await?
            .expect("a chart always has a query")
        } else {
            let whole = [whole(since, until)];
            match (self.fetch_budgeted(volume_sql(&filter, &whole, bucket_seconds, None), false))
                .await?
            {
                Some(rows) => rows,
                None => return Ok(None),
            }
        };
        let counts: std::collections::HashMap<_, _> = rows.into_iter().collect();
        let width = chrono::Duration::seconds(bucket_seconds);
        let mut start = aligned(since, bucket_seconds);
        let mut buckets = Vec::new();
        while start < until {
            let count = counts.get(&start).copied().unwrap_or(0);
            buckets.push(Bucket { start, count });
            start += width;
        }
        Ok(Some(buckets))
    }

    /// The `limit` most frequent values of a column among matching events (within the filter's
    /// time range). `None`: over the raw-row budget.
    #[tracing::instrument(skip(self))]
    pub async fn top(
        &self,
        filter: &EventFilter,
        by: RankBy,
        limit: u32,
    ) -> Result<Option<Vec<Ranked>>, StorageError> {
        let now = Utc::now();
        let since = (filter.since.as_ref()).map_or(DateTime::UNIX_EPOCH, |b| b.resolve(now));
        let until = (filter.until.as_ref()).map_or(far_future(), |b| b.resolve(now));
        let ranked = TopList {
            filter: without_range(filter),
            column: match by {
                RankBy::IpAddress => "host(ip_address)",
                RankBy::Username => "username",
            },
            dimension: match by {
                RankBy::IpAddress => "ip_address",
                RankBy::Username => "username",
            },
            limit,
        };
        let from_window = if top_lists_cover(&ranked.filter) {
            self.fetch_rolled(|snapshot| {
                let window = window_in(snapshot, since, until, now)?;
                Some(ranked.window_sql(window, (since, until), snapshot.cursor))
            })
            .await?
        } else {
            None
        };
        let rows: Vec<(String, i64)> = match from_window {
            Some(rows) => rows,
            None => match self
                .fetch_budgeted(ranked.range_sql(since, until), false)
                .await?
            {
                Some(rows) => rows,
                None => return Ok(None),
            },
        };
        Ok(Some(
            (rows.into_iter())
                .map(|(value, count)| Ranked { value, count })
                .collect(),
        ))
    }

    /// Runs the query `build` makes from the roll-up cursor and the windows' starts, all in one
    /// snapshot: aggregates and the rows after the cursor then never overlap or leave a gap.
    /// `None` if `build` has no query for them.
    async fn fetch_rolled<T>(
        &self,
        build: impl FnOnce(&Snapshot) -> Option<QueryBuilder<'static, Postgres>>,
    ) -> Result<Option<Vec<T>>, StorageError>
    where
        T: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
    {
        let mut tx = self.pool.begin().await?;
        sqlx::query("set transaction isolation level repeatable read, read only")
            .execute(&mut *tx)
            .await?;
        let cursor: i64 = sqlx::query_scalar("select seq from rollup_cursor")
            .fetch_one(&mut *tx)
            .await?;
        let starts = sqlx::query_as("select span, start from failure_window_starts order by span")
            .fetch_all(&mut *tx)
            .await?;
        let Some(mut sql) = build(&Snapshot { cursor, starts }) else {
            return Ok(None);
        };
        let rows = sql.build_query_as().fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some(rows))
    }

    /// Runs a raw counting query, cancelled (and `None`) once it runs `RAW_BUDGET`; after
    /// `MERGE_RANGES` if it reads index ranges per value (`merged`).
    pub(super) async fn fetch_budgeted<T>(
        &self,
        mut sql: QueryBuilder<'_, Postgres>,
        merged: bool,
    ) -> Result<Option<Vec<T>>, StorageError>
    where
        T: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
    {
        let mut tx = self.pool.begin().await?;
        // `local`: the connection's next user has the interactive timeout back.
        sqlx::query(&format!(
            "set local statement_timeout = {}",
            RAW_BUDGET.as_millis()
        ))
        .execute(&mut *tx)
        .await?;
        if merged {
            sqlx::query(MERGE_RANGES).execute(&mut *tx).await?;
        }
        match sql.build_query_as().fetch_all(&mut *tx).await {
            Ok(rows) => {
                tx.commit().await?;
                Ok(Some(rows))
            }
            Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some(QUERY_CANCELED) => {
                tracing::info!(
                    budget_ms = RAW_BUDGET.as_millis(),
                    "a chart's raw count ran over budget"
                );
                Ok(None)
            }
            Err(err) => Err(err.into()),
        }
    }
}

/// The roll-up cursor and the failure windows' starts, as one counting statement's snapshot
/// has them.
pub(super) struct Snapshot {
    pub cursor: i64,
    pub starts: Vec<(i32, DateTime<Utc>)>,
}

/// Which side of the roll-up cursor raw rows are read from.
#[derive(Clone, Copy, Debug)]
pub(super) enum SeqSide {
    /// Counted in the aggregates already.
    Through(i64),
    /// Not counted there yet.
    After(i64),
}

/// The cursor is a literal (our own number), so the planner sees how few rows lie after it.
pub(super) fn push_side(sql: &mut QueryBuilder<'static, Postgres>, side: Option<SeqSide>) {
    match side {
        Some(SeqSide::Through(cursor)) => sql.push(format!(" and seq <= {cursor}")),
        Some(SeqSide::After(cursor)) => sql.push(format!(" and seq > {cursor}")),
        None => sql,
    };
}

/// PostgreSQL's code for a statement cancelled by its timeout.
const QUERY_CANCELED: &str = "57014";

/// Whether `event_counts` can answer `filter`: it keeps no person, address, session, user
/// agent, client or text (kept or excluded).
fn charts_cover(filter: &EventFilter) -> bool {
    let exclude = &filter.exclude;
    filter.user.is_none()
        && filter.ip.is_none()
        && filter.session.is_none()
        && filter.session_fp.is_none()
        && filter.text.is_none()
        && filter.user_agent.is_none()
        && filter.client_id.is_none()
        && exclude.users.is_empty()
        && exclude.ips.is_empty()
        && exclude.user_agents.is_empty()
        && exclude.client_ids.is_empty()
}

/// Whether `failure_windows` can answer `filter`: failures only, by type or category (kept or
/// excluded).
fn top_lists_cover(filter: &EventFilter) -> bool {
    charts_cover(filter)
        && filter.result == Some(ActionResult::Failure)
        && filter.severity.is_none()
        && filter.source.is_none()
        && filter.exclude.results.is_empty()
        && filter.exclude.sources.is_empty()
}

/// The filter without its time bounds, which the pieces carry instead.
fn without_range(filter: &EventFilter) -> EventFilter {
    EventFilter {
        since: None,
        until: None,
        ..filter.clone()
    }
}

pub(super) fn whole(since: DateTime<Utc>, until: DateTime<Utc>) -> Piece {
    Piece {
        grain: RAW,
        from: since,
        to: until,
    }
}

pub(super) fn push_range(sql: &mut QueryBuilder<'_, Postgres>, column: &str, piece: &Piece) {
    sql.push(format!(" and {column} >= ")).push_bind(piece.from);
    sql.push(format!(" and {column} < ")).push_bind(piece.to);
}

/// No upper bound: later than any RFC 3339 time a producer can send.
pub(super) fn far_future() -> DateTime<Utc> {
    DateTime::from_timestamp(253_402_300_800, 0).expect("10000-01-01")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unnamed_filters_are_counted_from_aggregates() {
        let mut filter = EventFilter::default();
        assert!(charts_cover(&filter));
        assert!(
            !top_lists_cover(&filter),
            "the top lists count failures only"
        );
        filter.result = Some(ActionResult::Failure);
        assert!(top_lists_cover(&filter));
        filter
            .exclude
            .types
            .push(vigil_wire::EventType::parse("auth.logout").unwrap());
        assert!(top_lists_cover(&filter), "the windows keep event types");
        filter.exclude.sources.push("vigil".into());
        assert!(charts_cover(&filter) && !top_lists_cover(&filter));
        filter.exclude.users.push("svc".into());
        assert!(!charts_cover(&filter));
        filter.exclude.users.clear();
        filter.user = Some("alice".into());
        assert!(!charts_cover(&filter) && !top_lists_cover(&filter));
    }
}
