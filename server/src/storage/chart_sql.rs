//! The SQL that counts a chart's bars: whole pieces from `event_counts`, partial ends and the
//! events not rolled up yet from the table (see `stats.rs` for when each is used).

use chrono::{DateTime, Utc};
use sqlx::{Postgres, QueryBuilder};
use vigil_wire::EventFilter;

use super::conditions::{push_conditions, push_user_side, UserSide};
use super::pieces::{Piece, RAW};
use super::stats::{push_range, push_side, whole, SeqSide};

/// Where bars are aligned, as the aggregates' buckets are: a Monday, so week bars start on one.
const ORIGIN_SECONDS: i64 = 978_307_200; // 2001-01-01T00:00:00Z

/// A chart's counts per bar over `counted`, from the aggregates and raw rows. With a `cursor`,
/// the events after it are added from the table where the aggregates answer.
pub(super) fn volume_sql(
    filter: &EventFilter,
    counted: &[Piece],
    bucket_seconds: i64,
    cursor: Option<i64>,
) -> QueryBuilder<'static, Postgres> {
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
            push_raw_volume(&mut sql, bucket_seconds, filter, piece, None);
        } else {
            sql.push("select bucket as at, n from event_counts where grain = ")
                .push_bind(piece.grain as i32);
            push_conditions(&mut sql, filter, Utc::now());
            push_range(&mut sql, "bucket", piece);
        }
    }
    if let (Some(span), Some(cursor)) = (aggregated_span(counted), cursor) {
        sql.push(" union all ");
        push_raw_volume(&mut sql, bucket_seconds, filter, &span, Some(cursor));
    }
    sql.push(") counted group by 1");
    sql
}

/// Where the aggregates answer: from the first piece counted from them to the last. Events
/// there that are not rolled up yet are counted from the table.
fn aggregated_span(counted: &[Piece]) -> Option<Piece> {
    let mut rolled = counted.iter().filter(|p| p.grain != RAW);
    let first = rolled.next()?;
    let last = rolled.next_back().unwrap_or(first);
    Some(whole(first.from, last.to))
}

/// Raw rows of `piece` per chart bar (only those after `cursor`, if given).
fn push_raw_volume(
    sql: &mut QueryBuilder<'static, Postgres>,
    bucket_seconds: i64,
    filter: &EventFilter,
    piece: &Piece,
    cursor: Option<i64>,
) {
    // A user is two index ranges that never share a row; each alone is an index-only count,
    // where `user_id = $1 or username = $1` is a bitmap scan reading every row from the heap.
    if let Some(user) = &filter.user {
        let others = EventFilter {
            user: None,
            ..filter.clone()
        };
        for (i, side) in UserSide::BOTH.into_iter().enumerate() {
            if i > 0 {
                sql.push(" union all ");
            }
            push_raw_volume_of(
                sql,
                bucket_seconds,
                &others,
                piece,
                cursor,
                Some((side, user)),
            );
        }
    } else {
        push_raw_volume_of(sql, bucket_seconds, filter, piece, cursor, None);
    }
}

fn push_raw_volume_of(
    sql: &mut QueryBuilder<'static, Postgres>,
    bucket_seconds: i64,
    filter: &EventFilter,
    piece: &Piece,
    cursor: Option<i64>,
    user: Option<(UserSide, &String)>,
) {
    sql.push("select date_bin(make_interval(secs => ")
        .push_bind(bucket_seconds as f64)
        .push("), occurred_at, ")
        .push_bind(origin())
        .push(") as at, count(*) as n from events where true");
    if let Some((side, user)) = user {
        push_user_side(sql, side, user);
    }
    push_conditions(sql, filter, Utc::now());
    push_range(sql, "occurred_at", piece);
    push_side(sql, cursor.map(SeqSide::After));
    sql.push(" group by 1");
}

fn origin() -> DateTime<Utc> {
    DateTime::from_timestamp(ORIGIN_SECONDS, 0).expect("2001-01-01")
}

/// The start of the bucket of `width` seconds holding `at`.
pub(super) fn aligned(at: DateTime<Utc>, width: i64) -> DateTime<Utc> {
    let offset = (at.timestamp() - ORIGIN_SECONDS).div_euclid(width) * width;
    DateTime::from_timestamp(ORIGIN_SECONDS + offset, 0).expect("within chrono's range")
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
}
