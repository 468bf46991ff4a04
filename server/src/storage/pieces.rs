//! Splitting a time range into stretches the aggregates can answer: whole days from the day
//! counts, whole hours and minutes from theirs at the edges, and raw rows only for the partial
//! minutes (or hours) at the very ends. The cost then follows the range's length in grains,
//! not the number of events in it, and the answer is still exact to the microsecond.

use chrono::{DateTime, Utc};

/// The width of what one piece is counted from, in seconds; `RAW` means the events themselves.
pub type Grain = i64;
pub const RAW: Grain = 0;
pub const MINUTE: Grain = 60;
pub const HOUR: Grain = 3_600;
pub const DAY: Grain = 86_400;

/// `[from, to)` counted at `grain`; both ends lie on the grain (UTC, from the Unix epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    pub grain: Grain,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Tiles `[since, until)` with pieces, in time order, using the kept `grains` (ascending, each
/// dividing the next): the coarsest one the range holds in the middle, finer ones towards the
/// ends, raw rows for what no grain covers.
pub fn pieces(since: DateTime<Utc>, until: DateTime<Utc>, grains: &[Grain]) -> Vec<Piece> {
    let levels: Vec<Grain> = std::iter::once(RAW).chain(grains.iter().copied()).collect();
    let mut out = Vec::new();
    let mut from = since;
    // Up from `since` to the coarsest boundary the range reaches…
    for pair in levels.windows(2) {
        let boundary = ceil(from, pair[1]);
        if boundary > until {
            break;
        }
        if boundary > from {
            out.push(Piece {
                grain: pair[0],
                from,
                to: boundary,
            });
            from = boundary;
        }
    }
    // …then down to `until`, each grain as far as it goes.
    for &grain in levels.iter().rev() {
        let end = if grain == RAW {
            until
        } else {
            floor(until, grain)
        };
        if end > from {
            out.push(Piece {
                grain,
                from,
                to: end,
            });
            from = end;
        }
    }
    out
}

/// The coarsest kept grain that divides `width`: chart bars of `width` seconds (aligned like
/// the grains) are then sums of whole grains.
pub fn coarsest_dividing(width: i64, grains: &[Grain]) -> &[Grain] {
    let kept = grains.iter().take_while(|g| width % **g == 0).count();
    &grains[..kept]
}

fn floor(at: DateTime<Utc>, grain: Grain) -> DateTime<Utc> {
    let micros = grain * 1_000_000;
    let t = at.timestamp_micros();
    DateTime::from_timestamp_micros(t - t.rem_euclid(micros)).expect("within chrono's range")
}

fn ceil(at: DateTime<Utc>, grain: Grain) -> DateTime<Utc> {
    let down = floor(at, grain);
    if down == at {
        at
    } else {
        down + chrono::Duration::seconds(grain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn shape(ps: &[Piece]) -> Vec<(Grain, String, String)> {
        ps.iter()
            .map(|p| {
                (
                    p.grain,
                    p.from.format("%dT%T%.f").to_string(),
                    p.to.format("%dT%T%.f").to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn a_long_range_is_days_in_the_middle_and_finer_at_the_ends() {
        let ps = pieces(
            at("2026-12-01T10:15:30.5Z"),
            at("2026-12-04T08:20:10Z"),
            &[MINUTE, HOUR, DAY],
        );
        assert_eq!(
            shape(&ps),
            [
                (RAW, "01T10:15:30.500".into(), "01T10:16:00".into()),
                (MINUTE, "01T10:16:00".into(), "01T11:00:00".into()),
                (HOUR, "01T11:00:00".into(), "02T00:00:00".into()),
                (DAY, "02T00:00:00".into(), "04T00:00:00".into()),
                (HOUR, "04T00:00:00".into(), "04T08:00:00".into()),
                (MINUTE, "04T08:00:00".into(), "04T08:20:00".into()),
                (RAW, "04T08:20:00".into(), "04T08:20:10".into()),
            ]
        );
    }

    #[test]
    fn a_short_range_inside_one_hour_uses_minutes_and_raw_rows() {
        let ps = pieces(
            at("2026-12-01T10:00:30Z"),
            at("2026-12-01T10:05:20Z"),
            &[MINUTE, HOUR],
        );
        assert_eq!(
            shape(&ps),
            [
                (RAW, "01T10:00:30".into(), "01T10:01:00".into()),
                (MINUTE, "01T10:01:00".into(), "01T10:05:00".into()),
                (RAW, "01T10:05:00".into(), "01T10:05:20".into()),
            ]
        );
        let inside = pieces(
            at("2026-12-01T10:00:30Z"),
            at("2026-12-01T10:00:40Z"),
            &[MINUTE],
        );
        assert_eq!(
            shape(&inside),
            [(RAW, "01T10:00:30".into(), "01T10:00:40".into())]
        );
        assert!(pieces(
            at("2026-12-01T10:00:30Z"),
            at("2026-12-01T10:00:30Z"),
            &[MINUTE]
        )
        .is_empty());
    }

    #[test]
    fn pieces_tile_the_range_and_lie_on_their_grains() {
        let base = at("2026-11-30T23:59:59.999999Z").timestamp_micros();
        for step in [
            1,
            7_919_000,
            61_000_000,
            3_599_000_000,
            86_399_000_000,
            200_000_000_000,
        ] {
            for len in [
                1,
                59_000_000,
                3_600_000_000,
                90_000_000_000,
                700_000_000_000,
            ] {
                let since = DateTime::from_timestamp_micros(base + step).unwrap();
                let until = DateTime::from_timestamp_micros(base + step + len).unwrap();
                let ps = pieces(since, until, &[MINUTE, HOUR, DAY]);
                assert_eq!(ps.first().unwrap().from, since);
                assert_eq!(ps.last().unwrap().to, until);
                for pair in ps.windows(2) {
                    assert_eq!(pair[0].to, pair[1].from, "contiguous");
                }
                for p in ps.iter().filter(|p| p.grain != RAW) {
                    assert!(p.from < p.to);
                    assert_eq!(floor(p.from, p.grain), p.from, "{p:?}");
                    assert_eq!(floor(p.to, p.grain), p.to, "{p:?}");
                }
                assert!(ps.iter().filter(|p| p.grain == RAW).count() <= 2);
            }
        }
    }

    #[test]
    fn bars_use_the_coarsest_grain_that_divides_them() {
        let kept = [MINUTE, HOUR, DAY];
        assert_eq!(coarsest_dividing(60, &kept), [MINUTE]);
        assert_eq!(coarsest_dividing(1_800, &kept), [MINUTE]);
        assert_eq!(coarsest_dividing(10_800, &kept), [MINUTE, HOUR]);
        assert_eq!(coarsest_dividing(604_800, &kept), [MINUTE, HOUR, DAY]);
        assert!(coarsest_dividing(30, &kept).is_empty());
    }
}
