//! The demo world: 50,000 users doing ordinary things on a daily rhythm, and seven attacking
//! addresses that now and then burst into credential stuffing or brute force.

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::f64::consts::TAU;
use vigil_wire::Severity;

use super::{DemoOptions, SOURCE};
use crate::events::{session_fingerprint, NewEvent};

pub const USERS: u32 = 50_000;
/// Documentation ranges (203.0.113.0/24, 2001:db8:bad::/48): demo attackers never name a real host.
pub const ATTACKERS: [&str; 7] = [
    "203.0.113.7",
    "203.0.113.23",
    "203.0.113.66",
    "203.0.113.140",
    "203.0.113.201",
    "2001:db8:bad::17",
    "2001:db8:bad:4::2",
];
const ATTACKER_AGENTS: [&str; 3] = ["python-requests/2.31.0", "curl/8.5.0", "Go-http-client/1.1"];
const BROWSERS: [&str; 4] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
];
const MOBILE: [&str; 3] = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
    "AcmeApp/5.2.1 (iOS 17.4; iPhone15,2)",
];
const AUTOMATION: [&str; 3] = ["Deploy-Bot/1.0", "Terraform/1.7.5", "backup-agent/2.3"];
const KEY_NAMES: [&str; 3] = ["ci-deploy", "terraform", "nightly-backup"];
const OAUTH_CLIENTS: [&str; 5] = ["grafana", "gitlab", "jira", "backstage", "metabase"];
const COUNTRIES: [&str; 8] = ["DE", "US", "GB", "FR", "NL", "SE", "IN", "BR"];
const STUFFED_NAMES: [&str; 6] = ["admin", "jsmith", "test", "info", "support", "mike"];

/// Ordinary traffic, per mille: mostly sign-ins and token churn, a sprinkle of everything else.
const NORMAL_MIX: [(&str, u32); 21] = [
    ("auth.login.success", 260),
    ("auth.login.failure", 20),
    ("auth.logout", 90),
    ("auth.token.issued", 150),
    ("auth.token.refresh", 200),
    ("auth.token.revoked", 10),
    ("auth.token.validation_failed", 12),
    ("auth.mfa.challenge_success", 60),
    ("auth.mfa.challenge_failure", 6),
    ("auth.mfa.enabled", 4),
    ("auth.mfa.disabled", 1),
    ("auth.api_key.used", 120),
    ("auth.api_key.created", 3),
    ("auth.api_key.revoked", 1),
    ("auth.password.changed", 5),
    ("auth.password.reset_requested", 4),
    ("auth.password.reset_completed", 3),
    ("auth.oauth.authorize", 20),
    ("auth.oauth.code_generated", 15),
    ("auth.oauth.token_exchange", 15),
    ("auth.oauth.client_registered", 1),
];

const DAY: f64 = 86_400.0;
/// Busiest at 14:00 UTC, quietest at 02:00, at 0.4 to 1.6 times the mean rate.
const PEAK: f64 = 14.0 * 3_600.0;
const SWING: f64 = 0.6;
/// Share of events inside an attack window that come from the attacker.
const ATTACK_SHARE: f64 = 0.75;

/// A window in which one attacker is active; `target` is the account a brute force hammers,
/// `None` for credential stuffing across many names.
#[derive(Clone, Copy)]
struct Burst {
    from: f64,
    until: f64,
    attacker: usize,
    target: Option<u32>,
}

pub(super) struct Traffic {
    rng: StdRng,
    seed: u64,
    total: u64,
    start: f64,
    end: f64,
    bursts: Vec<Burst>,
}

impl Traffic {
    pub(super) fn new(options: &DemoOptions) -> Self {
        let end = options.end.timestamp_micros() as f64 / 1e6;
        let start = end - f64::from(options.days) * DAY;
        let mut rng = StdRng::seed_from_u64(options.seed);
        // Every attacker shows up about every other day, for ten to thirty minutes.
        let per_attacker = options.days.div_ceil(2) as usize;
        let bursts = (0..ATTACKERS.len() * per_attacker)
            .map(|n| {
                let from = rng.random_range(start..end - 1_800.0);
                Burst {
                    from,
                    until: from + rng.random_range(600.0..1_800.0),
                    attacker: n % ATTACKERS.len(),
                    target: rng.random_bool(0.3).then(|| rng.random_range(1..=USERS)),
                }
            })
            .collect();
        Traffic {
            rng,
            seed: options.seed,
            total: options.events.max(1),
            start,
            end,
            bursts,
        }
    }

    /// The `i`th event in time order, and the time it counts as received.
    pub(super) fn event(&mut self, i: u64) -> (NewEvent, DateTime<Utc>) {
        let t = self.time_of(i);
        let burst = self
            .bursts
            .iter()
            .find(|b| b.from <= t && t < b.until)
            .copied();
        let mut event = match burst {
            Some(burst) if self.rng.random_bool(ATTACK_SHARE) => self.attack(burst),
            _ => self.normal(t),
        };
        let at = DateTime::from_timestamp_micros((t * 1e6) as i64).expect("a time within range");
        // A UUIDv7 of the event's own time keeps ids time-ordered like ingested ones; the random
        // part is not seeded, so running twice adds rows instead of colliding on ids.
        let millis = at.timestamp_millis() as u64;
        event.id = uuid::Builder::from_unix_timestamp_millis(millis, &rand::random()).into_uuid();
        event.occurred_at = Some(at);
        (event, at)
    }

    /// Spreads events over the range following the daily rhythm: the `i`th event sits at the
    /// point where the cumulative rate reaches its share, found by a few Newton steps.
    fn time_of(&mut self, i: u64) -> f64 {
        let cumulative = |t: f64| t + SWING * DAY / TAU * (TAU * (t - PEAK) / DAY).sin();
        let rate = |t: f64| 1.0 + SWING * (TAU * (t - PEAK) / DAY).cos();
        let share = (i as f64 + self.rng.random::<f64>()) / self.total as f64;
        let goal = cumulative(self.start) + share * (cumulative(self.end) - cumulative(self.start));
        let mut t = self.start + share * (self.end - self.start);
        for _ in 0..6 {
            t -= (cumulative(t) - goal) / rate(t);
        }
        t.clamp(self.start, self.end)
    }

    fn attack(&mut self, burst: Burst) -> NewEvent {
        let rng = &mut self.rng;
        let (username, user_id, reason) = match burst.target {
            Some(user) => (name(user), Some(id(user)), "Invalid password"),
            None if rng.random_bool(0.8) => {
                let user = rng.random_range(1..=USERS);
                (name(user), Some(id(user)), "Invalid password")
            }
            None => {
                let guess = STUFFED_NAMES[rng.random_range(0..STUFFED_NAMES.len())];
                (
                    format!("{guess}{}", rng.random_range(1..100)),
                    None,
                    "Unknown user",
                )
            }
        };
        let locked = burst.target.is_some() && rng.random_bool(0.1);
        NewEvent {
            username: Some(username),
            user_id,
            ip_address: Some(ATTACKERS[burst.attacker].parse().expect("an address")),
            user_agent: Some(ATTACKER_AGENTS[burst.attacker % ATTACKER_AGENTS.len()].to_owned()),
            reason: Some(
                if locked {
                    "Account locked after repeated failures"
                } else {
                    reason
                }
                .to_owned(),
            ),
            severity: if locked {
                Severity::Error
            } else {
                Severity::Warning
            },
            event_data: json!({"attempt": rng.random_range(1..6), "method": "password"}),
            ..NewEvent::of_type("auth.login.failure", SOURCE)
        }
    }

    fn normal(&mut self, t: f64) -> NewEvent {
        let rng = &mut self.rng;
        // Skewed towards low numbers: a few busy users, a long tail of occasional ones.
        let user = (1 + (rng.random::<f64>().powi(2) * f64::from(USERS)) as u32).min(USERS);
        let traits = mix(self.seed ^ u64::from(user));
        let day = (t / DAY) as u64;
        let kind = pick(rng.random_range(0..1000));
        // API keys are used by automation on the user's own hosts, never from a phone.
        let mobile = rng.random_bool(0.2) && !kind.starts_with("auth.api_key.");
        let at = |seconds: f64| DateTime::from_timestamp((t + seconds) as i64, 0);
        let text = |value: &str| Some(value.to_owned());
        let session = format!(
            "sess-{:016x}",
            mix(traits ^ day.rotate_left(20) ^ u64::from(mobile))
        );
        let event = NewEvent {
            user_id: Some(id(user)),
            username: Some(name(user)),
            ip_address: Some(
                user_ip(traits, mobile.then_some(day))
                    .parse()
                    .expect("an address"),
            ),
            user_agent: text(if mobile {
                pick_from(&MOBILE, traits)
            } else {
                pick_from(&BROWSERS, traits)
            }),
            // Keys act outside any sign-in session.
            session_fingerprint: (!kind.starts_with("auth.api_key."))
                .then(|| session_fingerprint(&session)),
            ..NewEvent::of_type(kind, SOURCE)
        };
        let client = pick_from(&OAUTH_CLIENTS, traits >> 7);
        let key = rng.random_range(0..KEY_NAMES.len());
        let method = ["password", "password", "sso", "passkey"][rng.random_range(0..4)];
        let factor = ["totp", "webauthn"][rng.random_range(0..2)];
        let invalid = ["Token expired", "Signature mismatch"][rng.random_range(0..2)];
        let endpoint = ["/api/v2/deployments", "/api/v2/backups", "/api/v2/projects"][key];
        match kind {
            "auth.login.success" => NewEvent {
                mfa_used: Some(traits.is_multiple_of(3)),
                event_data: json!({"method": method, "country": pick_from(&COUNTRIES, traits >> 11)}),
                ..event
            },
            "auth.login.failure" => NewEvent {
                reason: text("Invalid password"),
                event_data: json!({"attempt": rng.random_range(1..3), "method": "password"}),
                ..event
            },
            "auth.logout" => NewEvent {
                forced: Some(rng.random_bool(0.02)),
                ..event
            },
            "auth.token.issued" => NewEvent {
                token_type: text("access"),
                expires_at: at(3_600.0),
                client_id: text("web-app"),
                scope: text("openid profile email"),
                ..event
            },
            "auth.token.refresh" => NewEvent {
                token_type: text("refresh"),
                expires_at: at(30.0 * DAY),
                client_id: text(if mobile { "mobile-app" } else { "web-app" }),
                ..event
            },
            "auth.token.revoked" => NewEvent {
                token_type: text("refresh"),
                reason: text("Signed out everywhere"),
                forced: Some(rng.random_bool(0.2)),
                ..event
            },
            "auth.token.validation_failed" => NewEvent {
                token_type: text("access"),
                reason: text(invalid),
                ..event
            },
            "auth.mfa.challenge_success" => NewEvent {
                mfa_used: Some(true),
                event_data: json!({"factor": "totp"}),
                ..event
            },
            "auth.mfa.challenge_failure" => NewEvent {
                mfa_used: Some(true),
                reason: text("Invalid TOTP code"),
                ..event
            },
            "auth.mfa.enabled" => NewEvent {
                event_data: json!({"factor": factor}),
                ..event
            },
            "auth.mfa.disabled" => NewEvent {
                severity: Severity::Warning,
                event_data: json!({"factor": "totp"}),
                ..event
            },
            "auth.api_key.used" | "auth.api_key.created" | "auth.api_key.revoked" => NewEvent {
                api_key_id: Some(format!("ak_{:012x}", mix(traits ^ key as u64) >> 16)),
                api_key_name: text(KEY_NAMES[key]),
                user_agent: text(if kind == "auth.api_key.used" {
                    AUTOMATION[key]
                } else {
                    pick_from(&BROWSERS, traits)
                }),
                event_data: json!({"endpoint": endpoint}),
                ..event
            },
            "auth.password.changed" => NewEvent {
                forced: Some(rng.random_bool(0.05)),
                ..event
            },
            "auth.password.reset_requested" => NewEvent {
                event_data: json!({"delivery": "email"}),
                ..event
            },
            "auth.password.reset_completed" => NewEvent {
                forced: Some(false),
                ..event
            },
            "auth.oauth.client_registered" => NewEvent {
                client_id: Some(format!("app-{:06x}", rng.random::<u32>() >> 8)),
                event_data: json!({"redirect_uri": "https://apps.example.com/callback"}),
                ..event
            },
            _ => NewEvent {
                client_id: text(client),
                scope: text("openid profile"),
                event_data: json!({"redirect_uri": format!("https://{client}.example.com/oauth/callback")}),
                ..event
            },
        }
    }
}

fn name(user: u32) -> String {
    format!("user{user:05}")
}

fn id(user: u32) -> String {
    format!("u-{user:05}")
}

fn pick(mut roll: u32) -> &'static str {
    for (kind, weight) in NORMAL_MIX {
        if roll < weight {
            return kind;
        }
        roll -= weight;
    }
    unreachable!("the mix adds up to 1000")
}

fn pick_from<'a>(items: &[&'a str], hash: u64) -> &'a str {
    items[(hash % items.len() as u64) as usize]
}

/// A user's usual address (private IPv4, or for one in six an IPv6 one outside the attackers'
/// /48); on a phone, a carrier-grade NAT address that changes daily.
fn user_ip(traits: u64, phone_day: Option<u64>) -> String {
    if let Some(day) = phone_day {
        let h = mix(traits ^ day);
        let (a, b, c) = (64 + (h & 63), (h >> 8) & 255, (h >> 16) & 255);
        return format!("100.{a}.{b}.{c}");
    }
    let h = traits >> 3;
    if traits.is_multiple_of(6) {
        let (a, b, c) = (0x1000 | (h & 0xfff), (h >> 12) & 0xffff, (h >> 28) & 0xffff);
        format!("2001:db8:{a:x}:{b:x}::{c:x}")
    } else {
        format!("10.{}.{}.{}", h & 255, (h >> 8) & 255, 1 + (h >> 16) % 254)
    }
}

/// SplitMix64: stable per-user traits from one number, without consuming the random stream.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}
