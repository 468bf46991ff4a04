//! The dashboard's charts and top lists: volume per time bucket and the most frequent values.
//!
//! Filters the aggregates cover (event type, category, result, severity, source; see
//! migrations/0008_rollups.sql) are answered from them, a range split into whole days, hours
//! and minutes plus the raw rows of its partial ends (`pieces`), so the cost follows the range,
//! not the table. Top lists over the last 24 hours, 7 or 30 days read a running window instead
//! (migrations/0009_failure_windows.sql), one row per distinct value. Any other filter (a person, an address, a session, text) counts raw rows, but
//! only for `RAW_BUDGET`: past it the answer is `None`, "refine your filter", never a page
//! that takes seconds.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder};
use std::time::Duration;
use vigil_wire::{ActionResult, Bucket, EventFilter, RankBy, Ranked};

use super::pieces::{coarsest_dividing, pieces, Grain, Piece, DAY, HOUR, MINUTE, RAW};
use super::query::push_conditions;
use super::{EventStore, StorageError};

/// How long a chart or top list may spend counting raw rows when no aggregate covers its filter.
pub const RAW_BUDGET: Duration = Duration::from_millis(250);
/// The grains `event_counts` and `failure_counts` keep.
const CHART_GRAINS: [Grain; 3] = [MINUTE, HOUR, DAY];
const TOP_GRAINS: [Grain; 2] = [HOUR, DAY];
/// Where bars are aligned, as the aggregates' buckets are: a Monday, so week bars start on one.
const ORIGIN_SECONDS: i64 = 978_307_200; // 2001-01-01T00:00:00Z

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
        let covered = charts_cover(&filter) && !grains.is_empty();
        let counted = if covered {
            pieces(since, until, grains)
        } else {
            vec![whole(since, until)]
        };
        let mut sql = QueryBuilder::new("select date_bin(make_interval(secs => ");
        sql.push_bind(bucket_seconds as f64)
            .push("), at, ")
            .push_bind(origin())
            .push(") as start, sum(n)::bigint from (");
        for (i, piece) in counted.iter().enumerate() {
            if i > 0 {
                sql.push(" union all ");
            }
            if piece.grain == RAW {
                sql.push("select date_bin(make_interval(secs => ")
                    .push_bind(bucket_seconds as f64)
                    .push("), occurred_at, ")
                    .push_bind(origin())
                    .push(") as at, count(*) as n from events where true");
                push_conditions(&mut sql, &filter, Utc::now());
                push_range(&mut sql, "occurred_at", piece);
                sql.push(" group by 1");
            } else {
                sql.push("select bucket as at, n from event_counts where grain = ")
                    .push_bind(piece.grain as i32);
                push_conditions(&mut sql, &filter, Utc::now());
                push_range(&mut sql, "bucket", piece);
            }
        }
        sql.push(") counted group by 1");
        let budget = (!covered).then_some(RAW_BUDGET);
        let Some(rows) = self
            .fetch_counted::<(DateTime<Utc>, i64)>(sql, budget)
            .await?
        else {
            return Ok(None);
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
        let (column, dimension) = match by {
            RankBy::IpAddress => ("host(ip_address)", "ip_address"),
            RankBy::Username => ("username", "username"),
        };
        let filter = without_range(filter);
        let covered = top_lists_cover(&filter);
        if covered {
            if let Some(window) = self.window_for(since, until, now).await? {
                let ranked = self
                    .top_from_window(&filter, window, (since, until), (column, dimension), limit)
                    .await?;
                return Ok(Some(ranked));
            }
        }
        let counted = if covered {
            pieces(since, until, &TOP_GRAINS)
        } else {
            vec![whole(since, until)]
        };
        let mut sql = QueryBuilder::new("select value, sum(n)::bigint from (");
        for (i, piece) in counted.iter().enumerate() {
            if i > 0 {
                sql.push(" union all ");
            }
            if piece.grain == RAW {
                sql.push(format!(
                    "select {column} as value, count(*) as n from events where {column} is not null"
                ));
                push_conditions(&mut sql, &filter, now);
                push_range(&mut sql, "occurred_at", piece);
                sql.push(" group by 1");
            } else {
                // Every row of `failure_counts` is a failure: the result is its premise.
                let mut types_only = filter.clone();
                types_only.result = None;
                sql.push("select value, n from failure_counts where grain = ")
                    .push_bind(piece.grain as i32)
                    .push(" and dimension = ")
                    .push_bind(dimension);
                push_conditions(&mut sql, &types_only, now);
                push_range(&mut sql, "bucket", piece);
            }
        }
        sql.push(") counted group by 1 order by 2 desc, 1 limit ")
            .push_bind(i64::from(limit));
        let budget = (!covered).then_some(RAW_BUDGET);
        let rows = self.fetch_counted::<(String, i64)>(sql, budget).await?;
        Ok(rows.map(|rows| {
            (rows.into_iter())
                .map(|(value, count)| Ranked { value, count })
                .collect()
        }))
    }

    /// Runs a counting query; with a `budget`, cancelled (and `None`) once it runs that long.
    async fn fetch_counted<T>(
        &self,
        mut sql: QueryBuilder<'_, Postgres>,
        budget: Option<Duration>,
    ) -> Result<Option<Vec<T>>, StorageError>
    where
        T: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
    {
        let Some(budget) = budget else {
            return Ok(Some(sql.build_query_as().fetch_all(&self.pool).await?));
        };
        let mut tx = self.pool.begin().await?;
        // `local`: the connection's next user has the interactive timeout back.
        sqlx::query(&format!(
            "set local statement_timeout = {}",
            budget.as_millis()
        ))
        .execute(&mut *tx)
        .await?;
        match sql.build_query_as().fetch_all(&mut *tx).await {
            Ok(rows) => {
                tx.commit().await?;
                Ok(Some(rows))
            }
            Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some(QUERY_CANCELED) => {
                tracing::info!(
                    budget_ms = budget.as_millis(),
                    "a chart's raw count ran over budget"
                );
                Ok(None)
            }
            Err(err) => Err(err.into()),
        }
    }
}

/// PostgreSQL's code for a statement cancelled by its timeout.
const QUERY_CANCELED: &str = "57014";

/// Whether `event_counts` can answer `filter`: it keeps no person, address, session or text.
fn charts_cover(filter: &EventFilter) -> bool {
    filter.user.is_none()
        && filter.ip.is_none()
        && filter.session.is_none()
        && filter.session_fp.is_none()
        && filter.text.is_none()
}

/// Whether `failure_counts` can answer `filter`: failures only, by type or category.
fn top_lists_cover(filter: &EventFilter) -> bool {
    charts_cover(filter)
        && filter.result == Some(ActionResult::Failure)
        && filter.severity.is_none()
        && filter.source.is_none()
}

/// The filter without its time bounds, which the pieces carry instead.
fn without_range(filter: &EventFilter) -> EventFilter {
    EventFilter {
        since: None,
        until: None,
        ..filter.clone()
    }
}

fn whole(since: DateTime<Utc>, until: DateTime<Utc>) -> Piece {
    Piece {
        grain: RAW,
        from: since,
        to: until,
    }
}

fn push_range(sql: &mut QueryBuilder<'_, Postgres>, column: &str, piece: &Piece) {
    sql.push(format!(" and {column} >= ")).push_bind(piece.from);
    sql.push(format!(" and {column} < ")).push_bind(piece.to);
}

fn origin() -> DateTime<Utc> {
    DateTime::from_timestamp(ORIGIN_SECONDS, 0).expect("2001-01-01")
}

/// The start of the bucket of `width` seconds holding `at`.
fn aligned(at: DateTime<Utc>, width: i64) -> DateTime<Utc> {
    let offset = (at.timestamp() - ORIGIN_SECONDS).div_euclid(width) * width;
    DateTime::from_timestamp(ORIGIN_SECONDS + offset, 0).expect("within chrono's range")
}

/// No upper bound: later than any RFC 3339 time a producer can send.
fn far_future() -> DateTime<Utc> {
    DateTime::from_timestamp(253_402_300_800, 0).expect("10000-01-01")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_align_on_their_width_from_a_monday() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            aligned(at("2026-12-01T10:17:42Z"), 1_800),
            at("2026-12-01T10:00:00Z")
        );
        assert_eq!(
            aligned(at("2026-12-01T10:17:42Z"), 10_800),
            at("2026-12-01T09:00:00Z")
        );
        // 2026-12-03 is a Thursday; its week began on Monday the 30th of November.
        assert_eq!(
            aligned(at("2026-12-03T10:00:00Z"), 604_800),
            at("2026-11-30T00:00:00Z")
        );
    }

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
        filter.user = Some("alice".into());
        assert!(!charts_cover(&filter) && !top_lists_cover(&filter));
    }
}
