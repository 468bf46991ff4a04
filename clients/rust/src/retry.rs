//! When to try again and how long to wait: exponential backoff with jitter, and the server's
//! `Retry-After` when it gives one.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// How a failed request is retried. Retrying is always safe: every event carries its
/// `event_id`, and the server stores a repeated id once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; 1 disables retries.
    pub max_attempts: u32,
    /// Wait before the second attempt; doubles for every further one.
    pub initial_backoff: Duration,
    /// Longest wait between two attempts (before jitter).
    pub max_backoff: Duration,
    /// Longest `Retry-After` obeyed; a larger one is cut to this, so a misconfigured proxy
    /// cannot park a caller for an hour.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// Five attempts over about three seconds: rides out a restart or a saturated writer
    /// without holding a request handler for long.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// No retries: one attempt, then the error.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// How long to wait after failed attempt number `attempt` (1-based). Jitter keeps many
    /// clients that failed together from coming back together; a `Retry-After` from the server
    /// is a floor, since it knows when it expects to have room again.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let doublings = attempt.saturating_sub(1).min(30);
        let base = self
            .initial_backoff
            .saturating_mul(1 << doublings)
            .min(self.max_backoff);
        // "Equal jitter": half fixed, half random, so the wait never collapses to zero.
        let jittered = base / 2 + base.mul_f64(random_fraction() / 2.0);
        match retry_after {
            Some(wait) => jittered.max(wait.min(self.max_retry_after)),
            None => jittered,
        }
    }
}

/// Whether an answer with this status is worth another attempt: the server was busy, down or
/// failed in between (5xx, 429 Too Many Requests, 408 Request Timeout). Other 4xx say the
/// request itself is wrong.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    status >= 500 || status == 429 || status == 408
}

/// Reads `Retry-After` given in seconds, the form Vigil sends; an HTTP date falls back to
/// the backoff.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// A number in [0, 1) from the standard library's per-process random hash keys: enough for
/// jitter, without a random-number dependency.
fn random_fraction() -> f64 {
    let mut hasher = RandomState::new().build_hasher();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    hasher.write_u128(now.map_or(0, |d| d.as_nanos()));
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_keeps_half_of_it() {
        let policy = RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(400),
            ..RetryPolicy::default()
        };
        for (attempt, base) in [(1, 100), (2, 200), (3, 400), (4, 400), (40, 400)] {
            let delay = policy.delay(attempt, None);
            assert!(
                delay >= Duration::from_millis(base / 2) && delay <= Duration::from_millis(base),
                "attempt {attempt}: {delay:?}"
            );
        }
    }

    #[test]
    fn retry_after_is_a_floor_with_a_ceiling() {
        let policy = RetryPolicy {
            initial_backoff: Duration::from_millis(10),
            max_retry_after: Duration::from_secs(5),
            ..RetryPolicy::default()
        };
        assert!(policy.delay(1, Some(Duration::from_secs(2))) >= Duration::from_secs(2));
        assert!(policy.delay(1, Some(Duration::from_secs(3600))) <= Duration::from_secs(5));
    }

    #[test]
    fn statuses_and_headers() {
        for status in [500, 502, 503, 504, 429, 408] {
            assert!(is_retryable_status(status), "{status}");
        }
        for status in [400, 401, 403, 413, 415, 422] {
            assert!(!is_retryable_status(status), "{status}");
        }
        assert_eq!(parse_retry_after(" 1 "), Some(Duration::from_secs(1)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn jitter_stays_in_range_and_varies() {
        let samples: Vec<f64> = (0..64).map(|_| random_fraction()).collect();
        assert!(samples.iter().all(|f| (0.0..1.0).contains(f)));
        assert!(samples.iter().any(|f| *f != samples[0]));
    }
}
