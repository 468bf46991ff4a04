//! What the dashboard shows besides events: volume over time, the most frequent values, and who
//! has access. Shared by the server, which computes them, and the wasm pages, which draw them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Events in one time bucket `[start, start + width)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    pub start: DateTime<Utc>,
    pub count: i64,
}

/// Volume over a time range, bucket by bucket (empty buckets included).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    pub bucket_seconds: i64,
    pub buckets: Vec<Bucket>,
}

/// One value and how often it occurs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ranked {
    pub value: String,
    pub count: i64,
}

/// Which column a top list ranks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RankBy {
    IpAddress,
    Username,
}

/// Every API key and operator, without secrets: the admins' Access page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessList {
    pub keys: Vec<KeyInfo>,
    pub operators: Vec<OperatorInfo>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyInfo {
    pub name: String,
    /// `ingest` or `read`.
    pub kind: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperatorInfo {
    pub username: String,
    /// `viewer` or `admin`.
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

/// Chosen so a chart has at most about this many bars, whatever the range.
pub const MAX_BUCKETS: i64 = 120;

/// The bucket width for a range: whole minutes, hours, days or weeks, at most `MAX_BUCKETS`
/// bars however wide the range (beyond 120 weeks, as many weeks per bar as it takes).
pub fn bucket_seconds(range_seconds: i64) -> i64 {
    const WEEK: i64 = 604_800;
    const STEPS: [i64; 10] = [
        60, 300, 600, 1_800, 3_600, 10_800, 21_600, 43_200, 86_400, WEEK,
    ];
    STEPS
        .into_iter()
        .find(|step| range_seconds / step <= MAX_BUCKETS)
        .unwrap_or_else(|| {
            let weeks = (range_seconds.max(0) / WEEK + MAX_BUCKETS - 1) / MAX_BUCKETS;
            weeks.max(1) * WEEK
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_per_minute_for_short_ranges_and_coarser_for_long_ones() {
        assert_eq!(bucket_seconds(3_600), 60);
        assert_eq!(bucket_seconds(24 * 3_600), 1_800);
        assert_eq!(bucket_seconds(7 * 86_400), 10_800);
    }

    #[test]
    fn no_range_is_wider_than_max_buckets_bars() {
        for range in [
            0,
            1,
            59,
            86_400 * 365 * 3,
            86_400 * 365 * 10_000,
            i64::MAX / 2,
        ] {
            let width = bucket_seconds(range);
            assert!(width >= 60 && width % 60 == 0, "{range}: {width}");
            assert!(
                range / width <= MAX_BUCKETS,
                "{range}: {} bars",
                range / width
            );
        }
    }
}
