//! Sign-in throttling: token buckets per client address and per (address, username), checked
//! before any password is hashed. Keyed by address, so a flood against a username from one
//! place never locks its owner out from another. Refused attempts are counted into bursts that
//! the audit trail records once each, so an unauthenticated flood cannot grow the database.

use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The limits; the README's "Security" section quotes the defaults.
#[derive(Clone, Copy, Debug)]
pub struct ThrottleLimits {
    /// Attempts one client address may make at once, and how fast they come back.
    pub per_client: Bucket,
    /// Attempts one client address may make against one username.
    pub per_username: Bucket,
    /// Most addresses and (address, username) pairs remembered; beyond it the oldest half goes.
    pub max_tracked: usize,
    /// A burst of refused attempts is recorded once no attempt was refused for this long.
    pub burst_quiet: Duration,
}

/// `capacity` attempts, one more every `refill`.
#[derive(Clone, Copy, Debug)]
pub struct Bucket {
    pub capacity: u32,
    pub refill: Duration,
}

impl Default for ThrottleLimits {
    fn default() -> Self {
        ThrottleLimits {
            per_client: Bucket {
                capacity: 30,
                refill: Duration::from_secs(2),
            },
            per_username: Bucket {
                capacity: 5,
                refill: Duration::from_secs(12),
            },
            max_tracked: 50_000,
            burst_quiet: Duration::from_secs(30),
        }
    }
}

/// Which limit refused an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Limit {
    Client,
    Username,
}

impl Limit {
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::Client => "client",
            Limit::Username => "client_and_username",
        }
    }
}

/// Attempts refused in a row for one address (over its own limit: any username) or one
/// (address, username): recorded as one audit event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Burst {
    pub client: IpAddr,
    /// None for the address's own limit, which a flood of distinct usernames reaches.
    pub username: Option<String>,
    pub limit: Limit,
    pub attempts: u64,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
}

/// A refused attempt: retry after this long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after: Duration,
    pub limit: Limit,
}

/// Longest username kept as a key; longer ones are cut (they are never valid anyway).
const MAX_KEY_USERNAME: usize = 128;

#[derive(Debug)]
pub struct SignInThrottle {
    limits: ThrottleLimits,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    clients: HashMap<IpAddr, Tokens>,
    usernames: HashMap<(IpAddr, String), Tokens>,
    bursts: HashMap<(IpAddr, Option<String>), (Burst, Instant)>,
}

#[derive(Clone, Copy, Debug)]
struct Tokens {
    available: f64,
    updated: Instant,
}

impl Tokens {
    fn full(bucket: Bucket, now: Instant) -> Self {
        Tokens {
            available: bucket.capacity.into(),
            updated: now,
        }
    }

    /// Adds what was earned since the last look; returns the tokens now.
    fn refill(&mut self, bucket: Bucket, now: Instant) -> Tokens {
        let earned = now.duration_since(self.updated).as_secs_f64() / bucket.refill.as_secs_f64();
        self.available = (self.available + earned).min(bucket.capacity.into());
        self.updated = now;
        *self
    }

    fn wait_for_one(&self, bucket: Bucket) -> Duration {
        bucket.refill.mul_f64((1.0 - self.available).max(0.0))
    }
}

/// IPv6 clients are grouped by /64: one host usually holds a whole one.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        IpAddr::V6(v6) => IpAddr::V4(v6.to_ipv4_mapped().expect("checked")),
        v4 => v4,
    }
}

fn username_key(username: &str) -> String {
    username
        .chars()
        .take(MAX_KEY_USERNAME)
        .collect::<String>()
        .to_lowercase()
}

impl SignInThrottle {
    pub fn new(limits: ThrottleLimits) -> Self {
        SignInThrottle {
            limits,
            state: Mutex::default(),
        }
    }

    /// Takes one attempt from both buckets, or refuses (taking nothing) and counts the refusal
    /// into the pair's burst.
    pub fn admit(&self, client: IpAddr, username: &str) -> Result<(), Throttled> {
        let now = Instant::now();
        let ip = client_key(client);
        let pair = (ip, username_key(username));
        let limits = self.limits;
        let mut state = self.state.lock().expect("throttle lock");
        state.bound(limits.max_tracked);
        let client_tokens = (state.clients.entry(ip))
            .or_insert_with(|| Tokens::full(limits.per_client, now))
            .refill(limits.per_client, now);
        let user_tokens = (state.usernames.entry(pair.clone()))
            .or_insert_with(|| Tokens::full(limits.per_username, now))
            .refill(limits.per_username, now);
        let refused = if client_tokens.available < 1.0 {
            Some((Limit::Client, client_tokens.wait_for_one(limits.per_client)))
        } else if user_tokens.available < 1.0 {
            Some((
                Limit::Username,
                user_tokens.wait_for_one(limits.per_username),
            ))
        } else {
            None
        };
        if let Some((limit, retry_after)) = refused {
            state.count_refusal(pair, client, limit);
            return Err(Throttled { retry_after, limit });
        }
        if let Some(tokens) = state.clients.get_mut(&ip) {
            tokens.available -= 1.0;
        }
        if let Some(tokens) = state.usernames.get_mut(&pair) {
            tokens.available -= 1.0;
        }
        Ok(())
    }

    /// A correct password gives its attempt back: signing in never uses up the operator's own
    /// allowance.
    pub fn succeeded(&self, client: IpAddr, username: &str) {
        let ip = client_key(client);
        let mut state = self.state.lock().expect("throttle lock");
        if let Some(tokens) = state.clients.get_mut(&ip) {
            tokens.available = (tokens.available + 1.0).min(self.limits.per_client.capacity.into());
        }
        let pair = (ip, username_key(username));
        if let Some(tokens) = state.usernames.get_mut(&pair) {
            tokens.available =
                (tokens.available + 1.0).min(self.limits.per_username.capacity.into());
        }
    }

    /// Bursts that have been quiet for `burst_quiet` (or all, when `everything`): each becomes
    /// one audit event.
    pub fn finished_bursts(&self, everything: bool) -> Vec<Burst> {
        let quiet = self.limits.burst_quiet;
        let mut state = self.state.lock().expect("throttle lock");
        let done: Vec<_> = (state.bursts.iter())
            .filter(|(_, (_, last))| everything || last.elapsed() >= quiet)
            .map(|(key, _)| key.clone())
            .collect();
        (done.into_iter())
            .filter_map(|key| state.bursts.remove(&key).map(|(burst, _)| burst))
            .collect()
    }

    /// How often to look for finished bursts.
    pub fn burst_check_every(&self) -> Duration {
        (self.limits.burst_quiet / 4).max(Duration::from_millis(100))
    }
}

impl State {
    fn count_refusal(&mut self, pair: (IpAddr, String), client: IpAddr, limit: Limit) {
        let now = Utc::now();
        // One burst per address over its own limit, however many usernames it tries.
        let key = match limit {
            Limit::Client => (pair.0, None),
            Limit::Username => (pair.0, Some(pair.1)),
        };
        let entry = self.bursts.entry(key.clone()).or_insert_with(|| {
            let burst = Burst {
                client,
                username: key.1,
                limit,
                attempts: 0,
                first_at: now,
                last_at: now,
            };
            (burst, Instant::now())
        });
        entry.0.attempts += 1;
        entry.0.last_at = now;
        entry.1 = Instant::now();
    }

    /// Keeps each table under `max`: the entries touched longest ago go first. Bursts are never
    /// dropped, only recorded early (`finished_bursts` runs often enough to keep them few).
    fn bound(&mut self, max: usize) {
        fn halve<K: Clone + Eq + std::hash::Hash>(map: &mut HashMap<K, Tokens>, max: usize) {
            if map.len() < max {
                return;
            }
            let mut ages: Vec<_> = map.iter().map(|(k, t)| (t.updated, k.clone())).collect();
            ages.sort_unstable_by_key(|(updated, _)| *updated);
            for (_, key) in ages.into_iter().take(map.len() / 2) {
                map.remove(&key);
            }
        }
        halve(&mut self.clients, max);
        halve(&mut self.usernames, max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ThrottleLimits {
        ThrottleLimits {
            per_client: Bucket {
                capacity: 10,
                refill: Duration::from_secs(3600),
            },
            per_username: Bucket {
                capacity: 3,
                refill: Duration::from_secs(3600),
            },
            max_tracked: 1_000,
            burst_quiet: Duration::ZERO,
        }
    }

    #[test]
    fn a_pair_is_refused_after_its_allowance_and_others_are_not() {
        let throttle = SignInThrottle::new(limits());
        let attacker: IpAddr = "203.0.113.9".parse().unwrap();
        let operator: IpAddr = "198.51.100.7".parse().unwrap();
        for _ in 0..3 {
            throttle.admit(attacker, "alice").unwrap();
        }
        let refused = throttle.admit(attacker, "Alice").unwrap_err();
        assert_eq!(
            refused.limit,
            Limit::Username,
            "usernames compare without case"
        );
        assert!(refused.retry_after > Duration::from_secs(3000));
        throttle
            .admit(operator, "alice")
            .expect("another address is not locked out");
        throttle
            .admit(attacker, "bob")
            .expect("another username from the same place");
    }

    #[test]
    fn the_client_limit_spans_usernames_and_ipv6_slash_64s() {
        let throttle = SignInThrottle::new(limits());
        for i in 0..10 {
            let ip: IpAddr = format!("2001:db8:1:2::{i:x}").parse().unwrap();
            throttle.admit(ip, &format!("user{i}")).unwrap();
        }
        let same_64: IpAddr = "2001:db8:1:2:ffff::1".parse().unwrap();
        assert_eq!(
            throttle.admit(same_64, "someone").unwrap_err().limit,
            Limit::Client
        );
        let other_64: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        throttle.admit(other_64, "someone").unwrap();
    }

    #[test]
    fn success_gives_the_attempt_back() {
        let throttle = SignInThrottle::new(limits());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..10 {
            throttle.admit(ip, "alice").unwrap();
            throttle.succeeded(ip, "alice");
        }
        throttle.admit(ip, "alice").unwrap();
    }

    #[test]
    fn refusals_are_counted_into_one_burst_per_pair() {
        let throttle = SignInThrottle::new(limits());
        let ip: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            throttle.admit(ip, "alice").unwrap();
        }
        for _ in 0..40 {
            assert!(throttle.admit(ip, "alice").is_err());
        }
        let bursts = throttle.finished_bursts(false);
        assert_eq!(bursts.len(), 1);
        assert_eq!((bursts[0].attempts, bursts[0].limit), (40, Limit::Username));
        assert!(throttle.finished_bursts(true).is_empty(), "recorded once");
        for i in 0..1_000 {
            let _ = throttle.admit(ip, &format!("spray{i}"));
        }
        let bursts = throttle.finished_bursts(true);
        assert_eq!(bursts.len(), 1, "a spray of usernames is one burst");
        assert_eq!(bursts[0].username, None);
    }

    #[test]
    fn the_tables_stay_bounded() {
        let throttle = SignInThrottle::new(ThrottleLimits {
            max_tracked: 100,
            ..limits()
        });
        for i in 0..10_000u32 {
            let ip = IpAddr::V4(i.into());
            let _ = throttle.admit(ip, &"x".repeat(10_000));
        }
        let state = throttle.state.lock().unwrap();
        assert!(state.clients.len() <= 100 && state.usernames.len() <= 100);
        assert!(state
            .usernames
            .keys()
            .all(|(_, name)| name.len() <= MAX_KEY_USERNAME));
    }
}
