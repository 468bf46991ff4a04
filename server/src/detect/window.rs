//! What one key of one rule remembers, and when it trips. Pure: the engine feeds events in the
//! order they were committed, which is not always the order they happened.

use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;

/// One matching event: when it happened, and where it is in the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Seen {
    pub at: DateTime<Utc>,
    pub seq: i64,
}

/// What tripped a rule: the events (oldest first) and the span they cover.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tripped {
    pub seqs: Vec<i64>,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
}

impl Tripped {
    fn of(events: &[Seen]) -> Self {
        Tripped {
            seqs: events.iter().map(|s| s.seq).collect(),
            first: events
                .iter()
                .map(|s| s.at)
                .min()
                .expect("something tripped"),
            last: events
                .iter()
                .map(|s| s.at)
                .max()
                .expect("something tripped"),
        }
    }
}

/// Events a key keeps at most, for a rule asking for `count`: if none of its windows tripped,
/// fewer than `2 * count` lie within a window of any event, so more are stale.
fn cap(count: u32) -> usize {
    count as usize * 4 + 16
}

/// Inserts in time order and forgets what is older than `horizon` or beyond the cap.
fn remember(events: &mut Vec<Seen>, new: Seen, horizon: DateTime<Utc>, count: u32) {
    let at = events.partition_point(|s| *s <= new);
    events.insert(at, new);
    let stale = events.partition_point(|s| s.at < horizon);
    let over = events.len().saturating_sub(cap(count) + stale);
    events.drain(..stale + over);
}

/// Threshold: whether some window of `window` containing `new` holds `count` events.
pub fn threshold(
    events: &mut Vec<Seen>,
    new: Seen,
    horizon: DateTime<Utc>,
    window: Duration,
    count: u32,
) -> Option<Tripped> {
    remember(events, new, horizon, count);
    let count = count as usize;
    // Windows [s, s + window] with s from new.at - window up to new.at contain `new`.
    let first = events.partition_point(|s| s.at < new.at - window);
    let mut end = first;
    for start in first..events.len() {
        if events[start].at > new.at {
            break;
        }
        while end < events.len() && events[end].at <= events[start].at + window {
            end += 1;
        }
        if end - start >= count {
            let tripped = Tripped::of(&events[start..end]);
            events.clear();
            return Some(tripped);
        }
    }
    None
}

/// Distinct: whether the values seen within `window` of the key's newest event number `count`.
/// Each value keeps its latest sighting.
pub fn distinct(
    values: &mut HashMap<String, Seen>,
    value: String,
    new: Seen,
    newest: DateTime<Utc>,
    horizon: DateTime<Utc>,
    window: Duration,
    count: u32,
) -> Option<Tripped> {
    let latest = values.entry(value).or_insert(new);
    if new > *latest {
        *latest = new;
    }
    values.retain(|_, s| s.at >= horizon);
    while values.len() > cap(count) {
        let oldest = (values.iter().min_by_key(|(_, s)| **s))
            .map(|(v, _)| v.clone())
            .expect("over the cap, so not empty");
        values.remove(&oldest);
    }
    let mut within: Vec<Seen> = (values.values())
        .filter(|s| s.at >= newest - window && s.at <= newest)
        .copied()
        .collect();
    if within.len() < count as usize {
        return None;
    }
    within.sort();
    values.clear();
    Some(Tripped::of(&within))
}

/// Sequence, the run: one more event of it.
pub fn run(events: &mut Vec<Seen>, new: Seen, horizon: DateTime<Utc>, count: u32) {
    remember(events, new, horizon, count);
}

/// Sequence, the end: whether `count` of the run happened within `window` before `then`.
pub fn then(events: &mut Vec<Seen>, then: Seen, window: Duration, count: u32) -> Option<Tripped> {
    let from = events.partition_point(|s| s.at < then.at - window);
    let to = events.partition_point(|s| s.at <= then.at);
    if to - from < count as usize {
        return None;
    }
    let mut tripped: Vec<Seen> = events[from..to].to_vec();
    tripped.push(then);
    events.clear();
    Some(Tripped::of(&tripped))
}

/// Values a first-seen key remembers at most.
pub const FIRST_SEEN_VALUES: usize = 256;

/// First seen: whether `value` is new for a key that had other values within `history`.
pub fn first_seen(
    seen: &mut HashMap<String, DateTime<Utc>>,
    value: &str,
    new: Seen,
    history: Duration,
) -> bool {
    let since = new.at - history;
    seen.retain(|_, at| *at >= since);
    let known = seen.contains_key(value);
    let had_others = !seen.is_empty();
    let latest = seen.entry(value.to_owned()).or_insert(new.at);
    *latest = (*latest).max(new.at);
    while seen.len() > FIRST_SEEN_VALUES {
        let oldest = (seen.iter().min_by_key(|(_, at)| **at))
            .map(|(v, _)| v.clone())
            .expect("over the cap, so not empty");
        seen.remove(&oldest);
    }
    had_others && !known
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Seen {
        Seen {
            at: DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap(),
            seq: secs,
        }
    }
    const W: Duration = Duration::seconds(120);
    fn far_past() -> DateTime<Utc> {
        DateTime::from_timestamp(0, 0).unwrap()
    }

    #[test]
    fn a_threshold_trips_at_exactly_n_within_the_window_and_not_at_n_minus_one() {
        let mut events = Vec::new();
        for s in 0..7 {
            assert_eq!(threshold(&mut events, at(s * 17), far_past(), W, 8), None);
        }
        let tripped = threshold(&mut events, at(119), far_past(), W, 8).unwrap();
        assert_eq!(tripped.seqs.len(), 8);
        assert!(events.is_empty(), "a tripped key starts again");
    }

    #[test]
    fn events_that_leave_the_window_no_longer_count() {
        let mut events = Vec::new();
        for s in 0..7 {
            threshold(&mut events, at(s), far_past(), W, 8);
        }
        // 121 s after the first: the first has left every window holding it, so seven.
        assert_eq!(threshold(&mut events, at(121), far_past(), W, 8), None);
        // One that happened 120 s after the first (arriving late) makes eight in [0, 120].
        let tripped = threshold(&mut events, at(120), far_past(), W, 8).unwrap();
        assert_eq!(tripped.seqs, vec![0, 1, 2, 3, 4, 5, 6, 120]);
    }

    #[test]
    fn out_of_order_events_count_where_they_happened() {
        let mut events = Vec::new();
        for s in [100, 90, 10, 50, 30, 70, 20] {
            assert_eq!(threshold(&mut events, at(s), far_past(), W, 8), None);
        }
        // The eighth arrives last but happened first: the window [0, 120] holds all eight.
        let tripped = threshold(&mut events, at(0), far_past(), W, 8).unwrap();
        assert_eq!(tripped.seqs, vec![0, 10, 20, 30, 50, 70, 90, 100]);
        assert_eq!((tripped.first, tripped.last), (at(0).at, at(100).at));
    }

    #[test]
    fn distinct_counts_values_not_events() {
        let mut values = HashMap::new();
        for s in 0..20 {
            let r = distinct(
                &mut values,
                "same".into(),
                at(s),
                at(s).at,
                far_past(),
                W,
                3,
            );
            assert_eq!(r, None);
        }
        assert_eq!(
            distinct(&mut values, "b".into(), at(21), at(21).at, far_past(), W, 3),
            None
        );
        let tripped = distinct(&mut values, "c".into(), at(22), at(22).at, far_past(), W, 3);
        assert_eq!(tripped.unwrap().seqs, vec![19, 21, 22]);
    }

    #[test]
    fn a_sequence_needs_the_run_before_the_end_within_the_window() {
        let mut run_events = Vec::new();
        for s in 0..4 {
            run(&mut run_events, at(s), far_past(), 5);
        }
        assert_eq!(
            then(&mut run_events, at(10), W, 5),
            None,
            "four failures are not five"
        );
        run(&mut run_events, at(11), far_past(), 5);
        assert_eq!(
            then(&mut run_events, at(500), W, 5),
            None,
            "the run is too old"
        );
        let tripped = then(&mut run_events, at(12), W, 5).unwrap();
        assert_eq!(tripped.seqs, vec![0, 1, 2, 3, 11, 12]);
    }

    #[test]
    fn first_seen_is_news_only_for_a_key_with_history() {
        let mut seen = HashMap::new();
        let days = Duration::days(14);
        assert!(
            !first_seen(&mut seen, "10.0.0.1", at(0), days),
            "a new key is not news"
        );
        assert!(!first_seen(&mut seen, "10.0.0.1", at(60), days));
        assert!(first_seen(&mut seen, "10.0.0.2", at(120), days));
        assert!(!first_seen(&mut seen, "10.0.0.2", at(180), days));
        // A key silent for longer than the history starts again: its next address is no news,
        // the one after that is.
        let later = |secs| Seen {
            at: at(0).at + Duration::days(15) + Duration::seconds(secs),
            seq: 99 + secs,
        };
        assert!(!first_seen(&mut seen, "10.0.0.2", later(0), days));
        assert_eq!(seen.len(), 1, "what left the history is forgotten");
        assert!(first_seen(&mut seen, "10.0.0.1", later(1), days));
    }

    #[test]
    fn a_key_remembers_a_bounded_number_of_events() {
        let mut events = Vec::new();
        for s in 0..10_000 {
            run(&mut events, at(s), far_past(), 5);
        }
        assert_eq!(events.len(), cap(5));
        assert_eq!(events.last().unwrap().seq, 9_999, "the newest are kept");
    }
}
