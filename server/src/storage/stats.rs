//! Aggregates for the dashboard's charts: volume per time bucket and top values, over the same
//! filter conditions as every other read.

use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;
use vigil_wire::EventFilter;
use vigil_wire::{Bucket, RankBy, Ranked};

use super::query::push_conditions;
use super::{EventStore, StorageError};

impl EventStore {
    /// Matching events per bucket over `[since, until)`; buckets with no events are included so
    /// a chart shows quiet time as quiet.
    #[tracing::instrument(skip(self))]
    pub async fn volume(
        &self,
        filter: &EventFilter,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        bucket_seconds: i64,
    ) -> Result<Vec<Bucket>, StorageError> {
        let mut sql = QueryBuilder::new("with counted as (select date_bin(make_interval(secs => ");
        sql.push_bind(bucket_seconds as f64)
            .push("), occurred_at, ")
            .push_bind(since);
        sql.push(") as start, count(*) as n from events where true");
        push_conditions(&mut sql, filter, Utc::now());
        sql.push(" and occurred_at >= ").push_bind(since);
        sql.push(" and occurred_at < ").push_bind(until);
        sql.push(" group by 1) select s.start, coalesce(c.n, 0) from generate_series(");
        sql.push_bind(since)
            .push("::timestamptz, ")
            .push_bind(until);
        sql.push("::timestamptz - interval '1 microsecond', make_interval(secs => ");
        sql.push_bind(bucket_seconds as f64);
        sql.push(")) as s(start) left join counted c on c.start = s.start order by s.start");
        let rows: Vec<(DateTime<Utc>, i64)> = sql.build_query_as().fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(|(start, count)| Bucket { start, count })
            .collect())
    }

    /// The `limit` most frequent values of a column among matching events.
    #[tracing::instrument(skip(self))]
    pub async fn top(
        &self,
        filter: &EventFilter,
        by: RankBy,
        limit: u32,
    ) -> Result<Vec<Ranked>, StorageError> {
        let column = match by {
            RankBy::IpAddress => "host(ip_address)",
            RankBy::Username => "username",
        };
        let mut sql = QueryBuilder::new(format!(
            "select {column}, count(*) from events where {column} is not null"
        ));
        push_conditions(&mut sql, filter, Utc::now());
        sql.push(" group by 1 order by 2 desc, 1 limit ")
            .push_bind(i64::from(limit));
        let rows: Vec<(String, i64)> = sql.build_query_as().fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(|(value, count)| Ranked { value, count })
            .collect())
    }
}
