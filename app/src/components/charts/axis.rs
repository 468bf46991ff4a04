//! The arithmetic behind a time chart: round tick times with labels, the y scale, which bucket a
//! pointer is over, and the range a selection zooms to. Pure, so it is tested here.

use chrono::{DateTime, Duration, FixedOffset, SecondsFormat, Utc};
use vigil_wire::Volume;

use crate::filters::query_pairs;

/// Most time ticks on an axis: their labels (`12:30`, `May 01`) never meet at the dashboard's
/// chart widths (from about 400 CSS pixels).
pub const MAX_TICKS: usize = 8;
/// Most y gridlines above zero.
pub const MAX_GRIDLINES: i64 = 4;

const MINUTE: i64 = 60;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;
/// Tick spacings, shortest first. Those under a day divide one, so ticks fall on round clock
/// times; whole days fall on midnights, weeks and longer on Mondays.
const TICK_STEPS: [i64; 19] = [
    MINUTE,
    2 * MINUTE,
    5 * MINUTE,
    10 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
    2 * DAY,
    7 * DAY,
    14 * DAY,
    28 * DAY,
    91 * DAY,
    182 * DAY,
    364 * DAY,
];
/// 1970-01-05, a Monday: where week-long (and longer) tick spacings start counting.
const FIRST_MONDAY: i64 = 4 * DAY;

/// One tick of the time axis: where it is (0 at the first bucket's start, 1 at the last's end).
#[derive(Clone, Debug, PartialEq)]
pub struct Tick {
    pub at: DateTime<Utc>,
    pub fraction: f64,
    pub label: String,
}

/// Ticks at round times in `[start, end)` as seen at `offset` (the zone's offset at `start`; a
/// daylight-saving change inside the range shifts later ticks by its hour), at most
/// `MAX_TICKS`: the shortest spacing that keeps to that.
pub fn time_ticks(start: DateTime<Utc>, end: DateTime<Utc>, offset: FixedOffset) -> Vec<Tick> {
    let (from, to) = (start.timestamp(), end.timestamp());
    if to <= from {
        return Vec::new();
    }
    let shift = i64::from(offset.local_minus_utc());
    let steps = TICK_STEPS.into_iter().chain((2..).map(|n| n * 364 * DAY));
    for step in steps {
        let origin = if step >= 7 * DAY { FIRST_MONDAY } else { 0 };
        // The first round local time at or after `start`, back in UTC seconds.
        let local_from = from + shift - origin;
        let first = local_from.div_euclid(step) * step
            + if local_from.rem_euclid(step) == 0 {
                0
            } else {
                step
            }
            + origin
            - shift;
        let count = if first < to {
            (to - 1 - first) / step + 1
        } else {
            0
        };
        if count as usize > MAX_TICKS {
            continue;
        }
        let span = (to - from) as f64;
        return (0..count)
            .filter_map(|k| DateTime::from_timestamp(first + k * step, 0))
            .map(|at| Tick {
                at,
                fraction: (at.timestamp() - from) as f64 / span,
                label: tick_label(at.with_timezone(&offset), step),
            })
            .collect();
    }
    Vec::new()
}

/// `14:30` within a day (the date at midnight), `May 01` for day ticks, the full date for
/// ticks months apart.
fn tick_label(seen: DateTime<FixedOffset>, step: i64) -> String {
    let midnight = seen.format("%H:%M:%S").to_string() == "00:00:00";
    match step {
        s if s < DAY && !midnight => seen.format("%H:%M").to_string(),
        s if s < 28 * DAY => seen.format("%b %d").to_string(),
        _ => seen.format("%Y-%m-%d").to_string(),
    }
}

/// The y scale: 0, then round values (1, 2 or 5 times a power of ten apart) up to `peak`, at
/// most `MAX_GRIDLINES` of them (at least two for any peak from 2).
pub fn y_scale(peak: i64) -> Vec<i64> {
    if peak <= 0 {
        return vec![0];
    }
    let mut power: i64 = 1;
    let step = loop {
        if let Some(step) = [1, 2, 5]
            .into_iter()
            .filter_map(|m| power.checked_mul(m))
            .find(|step| peak / step <= MAX_GRIDLINES)
        {
            break step;
        }
        match power.checked_mul(10) {
            Some(next) => power = next,
            None => break peak,
        }
    };
    (0..=peak / step).map(|k| k * step).collect()
}

/// A count as a y label: `5`, `250`, `1500`, `20k`, `3M`.
pub fn count_label(count: i64) -> String {
    match count {
        c if c >= 1_000_000 && c % 1_000_000 == 0 => format!("{}M", c / 1_000_000),
        c if c >= 10_000 && c % 1_000 == 0 => format!("{}k", c / 1_000),
        c => c.to_string(),
    }
}

/// The bucket under a pointer `fraction` of the way across `buckets` bars; a pointer dragged
/// past either end holds to the end bar.
pub fn bucket_at(fraction: f64, buckets: usize) -> Option<usize> {
    if buckets == 0 || !fraction.is_finite() {
        return None;
    }
    let index = (fraction * buckets as f64).floor().max(0.0) as usize;
    Some(index.min(buckets - 1))
}

/// The buckets from `a` to `b` (either order), inclusive: that span's first, last (inclusive)
/// index.
pub fn selection(a: usize, b: usize) -> (usize, usize) {
    (a.min(b), a.max(b))
}

/// Where buckets `first..=last` begin and end.
pub fn bucket_span(
    volume: &Volume,
    first: usize,
    last: usize,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let since = volume.buckets.get(first)?.start;
    let width = Duration::try_seconds(volume.bucket_seconds)?;
    let until = volume.buckets.get(last)?.start.checked_add_signed(width)?;
    (since < until).then_some((since, until))
}

/// The current `query` zoomed to `[since, until)`: both bounds absolute RFC 3339, every other
/// filter kept, paging started over.
pub fn zoomed_query(query: &str, since: DateTime<Utc>, until: DateTime<Utc>) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in query_pairs(query) {
        if !matches!(name.as_str(), "since" | "until" | "cursor") && !value.is_empty() {
            serializer.append_pair(&name, &value);
        }
    }
    serializer.append_pair("since", &since.to_rfc3339_opts(SecondsFormat::Secs, true));
    serializer.append_pair("until", &until.to_rfc3339_opts(SecondsFormat::Secs, true));
    format!("?{}", serializer.finish())
}

/// `2026-05-01 12:00 – 12:30` (the end's date only when it differs), as seen at `offset`.
pub fn span_label(since: DateTime<Utc>, until: DateTime<Utc>, offset: FixedOffset) -> String {
    let (since, until) = (since.with_timezone(&offset), until.with_timezone(&offset));
    let end = if since.date_naive() == until.date_naive() {
        until.format("%H:%M")
    } else {
        until.format("%Y-%m-%d %H:%M")
    };
    format!("{} – {end}", since.format("%Y-%m-%d %H:%M"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, TimeZone, Weekday};
    use vigil_wire::Bucket;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 1, h, m, 0).unwrap()
    }
    fn utc() -> FixedOffset {
        FixedOffset::east_opt(0).unwrap()
    }
    fn labels(ticks: &[Tick]) -> Vec<&str> {
        ticks.iter().map(|t| t.label.as_str()).collect()
    }

    #[test]
    fn an_hour_is_ticked_every_ten_minutes_on_the_clock() {
        let ticks = time_ticks(t(9, 3), t(10, 3), utc());
        assert_eq!(
            labels(&ticks),
            ["09:10", "09:20", "09:30", "09:40", "09:50", "10:00"]
        );
        assert!((ticks[0].fraction - 7.0 / 60.0).abs() < 1e-9);
    }

    #[test]
    fn a_day_is_ticked_every_three_hours_and_midnight_shows_the_date() {
        let start = t(12, 0);
        let ticks = time_ticks(start, start + Duration::hours(24), utc());
        assert_eq!(
            labels(&ticks),
            ["12:00", "15:00", "18:00", "21:00", "May 02", "03:00", "06:00", "09:00"]
        );
        assert_eq!(ticks[0].fraction, 0.0);
    }

    #[test]
    fn ticks_fall_on_round_local_times() {
        let kolkata = FixedOffset::east_opt(5 * HOUR as i32 + 30 * 60).unwrap();
        let ticks = time_ticks(t(0, 0), t(6, 0), kolkata);
        // 05:30 to 11:30 in Kolkata: whole local hours, which are half past in UTC.
        assert_eq!(
            labels(&ticks),
            ["06:00", "07:00", "08:00", "09:00", "10:00", "11:00"]
        );
        assert_eq!(ticks[0].at, t(0, 30));
    }

    #[test]
    fn weeks_are_ticked_by_day_and_months_by_monday() {
        let start = t(0, 0);
        let week = time_ticks(start, start + Duration::days(7), utc());
        assert_eq!(week.len(), 7);
        assert_eq!(week[0].label, "May 01");
        let quarter = time_ticks(start, start + Duration::days(90), utc());
        assert!(
            quarter.len() <= MAX_TICKS && quarter.len() >= 4,
            "{quarter:?}"
        );
        assert!(
            quarter.iter().all(|t| t.at.weekday() == Weekday::Mon),
            "{quarter:?}"
        );
    }

    #[test]
    fn every_range_gets_a_few_ticks_and_never_too_many() {
        let start = t(7, 13);
        for seconds in [
            60,
            600,
            900,
            3_600,
            6 * 3_600,
            86_400,
            30 * 86_400,
            3 * 365 * 86_400,
        ] {
            let ticks = time_ticks(start, start + Duration::seconds(seconds), utc());
            assert!(
                !ticks.is_empty() && ticks.len() <= MAX_TICKS,
                "{seconds}: {ticks:?}"
            );
            assert!(ticks.iter().all(|t| (0.0..1.0).contains(&t.fraction)));
        }
        assert!(time_ticks(start, start, utc()).is_empty());
        let far = DateTime::<Utc>::MAX_UTC;
        assert!(time_ticks(DateTime::<Utc>::MIN_UTC, far, utc()).len() <= MAX_TICKS);
    }

    #[test]
    fn the_y_scale_has_zero_and_two_to_four_round_values_up_to_the_peak() {
        assert_eq!(y_scale(0), [0]);
        assert_eq!(y_scale(1), [0, 1]);
        assert_eq!(y_scale(2), [0, 1, 2]);
        assert_eq!(y_scale(9), [0, 2, 4, 6, 8]);
        assert_eq!(y_scale(10), [0, 5, 10]);
        assert_eq!(y_scale(1_234), [0, 500, 1_000]);
        for peak in (2..5_000).chain([i64::MAX]) {
            let scale = y_scale(peak);
            assert!((3..=5).contains(&scale.len()), "{peak}: {scale:?}");
            assert!(*scale.last().unwrap() <= peak);
        }
        assert_eq!(count_label(20_000), "20k");
        assert_eq!(count_label(1_500), "1500");
    }

    #[test]
    fn a_pointer_finds_its_bar_and_holds_to_the_ends() {
        assert_eq!(bucket_at(0.0, 48), Some(0));
        assert_eq!(bucket_at(0.5, 48), Some(24));
        assert_eq!(bucket_at(0.999, 48), Some(47));
        assert_eq!(bucket_at(1.7, 48), Some(47));
        assert_eq!(bucket_at(-0.2, 48), Some(0));
        assert_eq!(bucket_at(f64::NAN, 48), None);
        assert_eq!(bucket_at(0.5, 0), None);
    }

    #[test]
    fn a_selection_zooms_to_its_buckets_bounds() {
        let volume = Volume {
            bucket_seconds: 1_800,
            buckets: (0..48)
                .map(|i| Bucket {
                    start: t(0, 0) + Duration::minutes(30 * i),
                    count: i,
                })
                .collect(),
        };
        // Dragged right to left: the same range.
        let (a, b) = selection(30, 27);
        assert_eq!((a, b), (27, 30));
        assert_eq!(bucket_span(&volume, a, b), Some((t(13, 30), t(15, 30))));
        // One bar clicked: that bucket.
        assert_eq!(bucket_span(&volume, 5, 5), Some((t(2, 30), t(3, 0))));
        assert_eq!(bucket_span(&volume, 5, 48), None);
        assert_eq!(
            zoomed_query("?user=a+b&since=24h&cursor=1_2", t(13, 30), t(15, 30)),
            "?user=a+b&since=2026-05-01T13%3A30%3A00Z&until=2026-05-01T15%3A30%3A00Z"
        );
        assert_eq!(
            span_label(t(13, 30), t(15, 30), utc()),
            "2026-05-01 13:30 – 15:30"
        );
        assert_eq!(
            span_label(t(23, 30), t(23, 30) + Duration::minutes(30), utc()),
            "2026-05-01 23:30 – 2026-05-02 00:00"
        );
    }
}
