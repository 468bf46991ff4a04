//! Top lists of failed events by address or username. Over the last 24 hours, 7 or 30 days
//! they read running windows (migrations/0008_rollups.sql, 0015): one row per distinct value
//! with a count per window whatever the traffic, corrected by the few raw rows between a window's start and the list's, and by
//! the failures not rolled up yet. Any other range counts raw rows, within the raw-row budget.

use chrono::{DateTime, Utc};
use sqlx::{Postgres, QueryBuilder};

use vigil_wire::{EventFilter, EventType};

use super::conditions::push_conditions;
use super::pieces::Piece;
use super::stats::{push_range, push_side, whole, SeqSide, Snapshot};

/// One top list being counted.
pub(super) struct TopList {
    pub filter: EventFilter,
    /// The expression ranked, in `events`.
    pub column: &'static str,
    /// Its name in the aggregates.
    pub dimension: &'static str,
    pub limit: u32,
}

impl TopList {
    /// The list over `[since, until)` from raw rows: any range the windows do not answer.
    pub(super) fn range_sql(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> QueryBuilder<'static, Postgres> {
        let mut sql = QueryBuilder::new("select value, sum(n)::bigint from (");
        self.push_raw(&mut sql, &whole(since, until), None, 1);
        sql.push(") counted group by 1 order by 2 desc, 1 limit ")
            .push_bind(i64::from(self.limit));
        sql
    }

    /// The filter as the aggregates of failures take it: every row there is a failure.
    pub(super) fn types_only(&self) -> EventFilter {
        EventFilter {
            result: None,
            ..self.filter.clone()
        }
    }

    /// Raw rows of `piece` per value, each counting `sign` (only those on one side of the
    /// cursor, if `side`).
    pub(super) fn push_raw(
        &self,
        sql: &mut QueryBuilder<'static, Postgres>,
        piece: &Piece,
        side: Option<SeqSide>,
        sign: i64,
    ) {
        let column = self.column;
        sql.push(format!(
            "select {column} as value, {sign} * count(*) as n from events where {column} is not null"
        ));
        push_conditions(sql, &self.filter, Utc::now());
        push_range(sql, "occurred_at", piece);
        push_side(sql, side);
        sql.push(" group by 1");
    }
}

/// How far before a top list's `since` a running window may start: the failures in between
/// are counted from raw rows, a minute or so of them while `vigil serve` advances the windows.
const MAX_WINDOW_LAG: chrono::Duration = chrono::Duration::minutes(10);

/// A running window of `failure_windows`: rolled-up failures with `occurred_at >= start`,
/// counted in the column `counts`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Window {
    counts: &'static str,
    start: DateTime<Utc>,
}

/// The column of `failure_windows` that counts the window of `span` seconds.
fn counts_of(span: i32) -> Option<&'static str> {
    match span {
        86_400 => Some("n_day"),
        604_800 => Some("n_week"),
        2_592_000 => Some("n_month"),
        _ => None,
    }
}

/// The window that can answer `[since, until)`: `until` is now, and the window starts a
/// little before `since` (or just after it, if it moved on a minute since `since` was taken).
pub(super) fn window_in(
    snapshot: &Snapshot,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<Window> {
    if until < now - chrono::Duration::seconds(5) {
        return None;
    }
    (snapshot.starts.iter())
        .filter(|(_, start)| (*start - since).abs() <= MAX_WINDOW_LAG)
        .find_map(|&(span, start)| {
            Some(Window {
                counts: counts_of(span)?,
                start,
            })
        })
}

impl TopList {
    /// The list from `window`: its counts, less its rolled-up rows outside `[since, until)`,
    /// plus the rolled-up rows in the range before its start and the rows after `cursor`.
    pub(super) fn window_sql(
        &self,
        window: Window,
        (since, until): (DateTime<Utc>, DateTime<Utc>),
        cursor: i64,
    ) -> QueryBuilder<'static, Postgres> {
        let mut sql = QueryBuilder::new("with adjusted as (select value, sum(n) as n from (");
        let (start, far) = (window.start, super::stats::far_future());
        let rolled = Some(SeqSide::Through(cursor));
        let parts: [(Piece, Option<SeqSide>, i64); 4] = [
            (whole(since, until), Some(SeqSide::After(cursor)), 1),
            (whole(start, since), rolled, -1),
            (whole(since, start), rolled, 1),
            (whole(until.max(start), far), rolled, -1),
        ];
        let mut first = true;
        for (piece, side, sign) in parts.into_iter().filter(|(p, ..)| p.from < p.to) {
            if !first {
                sql.push(" union all ");
            }
            first = false;
            self.push_raw(&mut sql, &piece, side, sign);
        }
        sql.push(") parts group by 1), ");
        // The ranked shortcut reads one type's window as is: not when the filter leaves some out.
        let excludes_kinds =
            !(self.filter.exclude.types.is_empty() && self.filter.exclude.categories.is_empty());
        match (
            self.filter.types.as_slice(),
            self.filter.categories.is_empty() && !excludes_kinds,
        ) {
            ([only], true) => self.push_ranked_candidates(&mut sql, window, only),
            _ => self.push_every_value(&mut sql, window),
        }
        sql.push(
            " select value, (coalesce(c.n, 0) + coalesce(a.n, 0))::bigint from counted c \
             left join adjusted a using (value) \
             where coalesce(c.n, 0) + coalesce(a.n, 0) > 0 order by 2 desc, 1 limit ",
        )
        .push_bind(i64::from(self.limit));
        sql
    }

    /// `counted`: the window's count of every value the list could show. For one type, the
    /// window's `limit + m` highest counts (an index range), where `m` values are adjusted:
    /// at least `limit` of them are not, and every value below them is not ranked higher.
    fn push_ranked_candidates(
        &self,
        sql: &mut QueryBuilder<'static, Postgres>,
        window: Window,
        event_type: &EventType,
    ) {
        let category = event_type.category().as_str().to_owned();
        let event_type = event_type.as_str().to_owned();
        let counts = window.counts;
        sql.push("candidates as ((select value from failure_windows where dimension = ")
            .push_bind(self.dimension)
            .push(" and event_type = ")
            .push_bind(event_type.clone())
            // Spelled out, so the planner reads the window's partial index.
            .push(format!(
                " and {counts} > 0 order by {counts} desc, value limit "
            ))
            .push_bind(i64::from(self.limit))
            .push(" + (select count(*) from adjusted)) union select value from adjusted), ");
        // A scalar subquery, never flattened into a join: with a lateral join the planner, guessing
        // thousands of candidates, hashed every row of the type's window (90 ms at 10 M events).
        sql.push(format!(
            "counted as materialized (select c.value, (select {counts} from failure_windows w \
             where w.dimension = "
        ))
        .push_bind(self.dimension)
        .push(" and w.event_type = ")
        .push_bind(event_type)
        // Every key column: one lookup of the primary key per candidate.
        .push(" and w.value = c.value and w.category = ")
        .push_bind(category)
        .push(") as n from candidates c)");
    }

    /// `counted`: the window's count of every value of the filter's types and categories.
    fn push_every_value(&self, sql: &mut QueryBuilder<'static, Postgres>, window: Window) {
        let counts = window.counts;
        sql.push(format!(
            "window_counts as (select value, sum({counts}) as n from failure_windows \
             where {counts} > 0 and dimension = "
        ))
        .push_bind(self.dimension);
        push_conditions(sql, &self.types_only(), Utc::now());
        sql.push(" group by 1), counted as (select value, n from window_counts ")
            .push("union select value, null from adjusted where value not in ")
            .push("(select value from window_counts))");
    }
}
