//! The seed event mix: a fixed-seed stream of realistic auth events, the same on every run.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

/// Fixed, so every run (and every phase of a run) sends the same events, and figures from two
/// runs compare the same work.
const SEED: u64 = 0x5EED_0A0D;
/// Distinct accounts; activity is skewed, so a few thousand of them do most of the logging in.
const USERS: usize = 20_000;
/// `expires_at` values count from here rather than from the clock, to stay deterministic.
const EPOCH_2026: i64 = 1_767_225_600;

/// Every seed event type with its share in per mille (the sum is 1000): mostly logins, a fifth
/// failed ones, then tokens, MFA, API keys, and logouts, passwords and OAuth.
const MIX: [(&str, u32); 21] = [
    ("auth.login.success", 550),
    ("auth.login.failure", 200),
    ("auth.token.issued", 50),
    ("auth.token.refresh", 35),
    ("auth.token.validation_failed", 10),
    ("auth.token.revoked", 5),
    ("auth.mfa.challenge_success", 30),
    ("auth.mfa.challenge_failure", 12),
    ("auth.mfa.enabled", 5),
    ("auth.mfa.disabled", 3),
    ("auth.api_key.used", 44),
    ("auth.api_key.created", 4),
    ("auth.api_key.revoked", 2),
    ("auth.logout", 25),
    ("auth.password.changed", 5),
    ("auth.password.reset_requested", 6),
    ("auth.password.reset_completed", 4),
    ("auth.oauth.authorize", 5),
    ("auth.oauth.token_exchange", 3),
    ("auth.oauth.code_generated", 1),
    ("auth.oauth.client_registered", 1),
];

const FIRST: [&str; 40] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "nina", "oscar", "peggy", "quinn", "rupert", "sybil", "trent", "ursula", "victor", "wendy",
    "xavier", "yasmin", "zoe", "aaron", "bianca", "chen", "dmitri", "elif", "fatima", "goran",
    "hiro", "ines", "jamal", "kofi", "lena", "mateo", "noor", "olga", "priya",
];
const LAST: [&str; 50] = [
    "smith", "jones", "garcia", "muller", "rossi", "dubois", "nowak", "silva", "kim", "tanaka",
    "ivanova", "okafor", "jensen", "novak", "haddad", "nguyen", "patel", "cohen", "schmidt",
    "moreau", "ferrari", "santos", "park", "sato", "petrov", "mensah", "larsen", "horvat", "khan",
    "tran", "shah", "levi", "weber", "lambert", "romano", "costa", "lee", "suzuki", "popescu",
    "adeyemi", "berg", "kovac", "aziz", "pham", "das", "katz", "fischer", "leroy", "greco",
    "reyes",
];
const USER_AGENTS: [&str; 8] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36",
    "AcmeApp/4.2.1 (iOS 17.5)",
    "AcmeApp/4.2.0 (Android 14)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Edg/126.0",
];
/// Addresses that run credential-stuffing bursts.
const ATTACKERS: [&str; 6] = [
    "203.0.113.7",
    "203.0.113.66",
    "198.51.100.23",
    "185.220.101.4",
    "45.155.205.99",
    "2001:db8:bad::1",
];
const GUESSED_NAMES: [&str; 5] = ["admin", "root", "test", "administrator", "oracle"];
const FAILURE_REASONS: [&str; 6] = [
    "Invalid credentials",
    "Invalid credentials",
    "Invalid credentials",
    "Account locked",
    "Password expired",
    "MFA required",
];
const CLIENTS: [&str; 5] = [
    "web-portal",
    "mobile-ios",
    "mobile-android",
    "partner-crm",
    "cli",
];
const FACTORS: [&str; 3] = ["totp", "webauthn", "sms"];
const ENDPOINTS: [&str; 4] = ["/v1/orders", "/v1/invoices", "/v1/customers", "/v1/reports"];

/// `count` events of the mix, as producers would post them (JSON objects).
pub fn events(count: usize) -> Vec<Value> {
    let mut mix = Mix {
        rng: StdRng::seed_from_u64(SEED),
        burst: None,
    };
    (0..count).map(|_| mix.next_event()).collect()
}

struct User {
    id: String,
    name: String,
    ip: String,
}

struct Mix {
    rng: StdRng,
    /// The attacker of the running burst and how many failed logins it still has to make.
    burst: Option<(&'static str, u32)>,
}

impl Mix {
    fn next_event(&mut self) -> Value {
        let kind = self.event_type();
        let user = self.user();
        let mut event = json!({
            "event_type": kind,
            "user_id": user.id,
            "username": user.name,
            "ip_address": user.ip,
            "user_agent": self.pick(&USER_AGENTS),
        });
        let extra = self.details(kind);
        let fields = event.as_object_mut().expect("built as an object");
        for (key, value) in extra.as_object().expect("built as an object") {
            if value.is_null() {
                fields.remove(key);
            } else {
                fields.insert(key.clone(), value.clone());
            }
        }
        event
    }

    fn event_type(&mut self) -> &'static str {
        let mut roll = self.rng.random_range(0..1000);
        for (kind, weight) in MIX {
            if roll < weight {
                return kind;
            }
            roll -= weight;
        }
        unreachable!("the weights sum to 1000")
    }

    /// Squaring a uniform draw skews activity towards low ids: a long tail of rare users.
    fn user(&mut self) -> User {
        let u: f64 = self.rng.random();
        let index = ((u * u * USERS as f64) as usize).min(USERS - 1);
        User {
            id: format!("u{index:05}"),
            name: username(index),
            ip: home_ip(index),
        }
    }

    fn pick(&mut self, from: &[&'static str]) -> &'static str {
        from.choose(&mut self.rng).copied().expect("non-empty list")
    }

    fn session(&mut self) -> String {
        format!("sess_{:032x}", self.rng.random::<u128>())
    }

    fn expiry(&mut self, minutes: i64) -> String {
        let at = DateTime::<Utc>::from_timestamp(EPOCH_2026, 0).expect("valid")
            + Duration::minutes(minutes + self.rng.random_range(0..525_600));
        at.to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    /// The type-specific fields; a null removes a common field.
    fn details(&mut self, kind: &str) -> Value {
        let client = self.pick(&CLIENTS);
        match kind {
            "auth.login.success" => json!({
                "session_id": self.session(),
                "mfa_used": self.rng.random_bool(0.3),
                "event_data": {"method": self.pick(&["password", "password", "sso", "passkey"]),
                               "tenant": format!("t{}", self.rng.random_range(1..40))},
            }),
            "auth.login.failure" => self.failure(),
            "auth.token.issued" | "auth.token.refresh" => json!({
                "token_type": if kind.ends_with("issued") { "access" } else { "refresh" },
                "expires_at": self.expiry(60),
                "client_id": client,
                "scope": "openid profile email",
                "session_id": self.session(),
            }),
            "auth.token.validation_failed" => json!({
                "token_type": "access",
                "client_id": client,
                "error_message": self.pick(&["Token expired", "Invalid signature", "Token revoked"]),
            }),
            "auth.token.revoked" => {
                json!({"token_type": "refresh", "reason": "Signed out everywhere"})
            }
            "auth.mfa.challenge_failure" => json!({
                "reason": "Invalid code",
                "session_id": self.session(),
                "event_data": {"factor": self.pick(&FACTORS)},
            }),
            kind if kind.starts_with("auth.mfa.") => json!({
                "session_id": self.session(),
                "event_data": {"factor": self.pick(&FACTORS)},
            }),
            kind if kind.starts_with("auth.api_key.") => {
                let key = self.rng.random_range(1..300);
                let mut fields = json!({"api_key_id": format!("ak_{key:04}"), "api_key_name": format!("ci-deploy-{key}")});
                if kind.ends_with("used") {
                    fields["user_agent"] = json!(self.pick(&["curl/8.5.0", "okhttp/4.12.0"]));
                    fields["event_data"] =
                        json!({"endpoint": self.pick(&ENDPOINTS), "method": "GET"});
                }
                fields
            }
            "auth.logout" => {
                json!({"session_id": self.session(), "forced": self.rng.random_bool(0.05)})
            }
            "auth.password.reset_requested" => {
                json!({"user_id": null, "event_data": {"channel": "email"}})
            }
            kind if kind.starts_with("auth.password.") => json!({"session_id": self.session()}),
            "auth.oauth.client_registered" => json!({
                "client_id": format!("app-{}", self.rng.random_range(100..999)),
                "event_data": {"redirect_uris": ["https://app.example.com/callback"]},
            }),
            _ => json!({"client_id": client, "scope": "openid profile"}),
        }
    }

    /// Ordinary typos from the user's own address, and bursts of credential stuffing: one
    /// address trying many accounts (some that do not exist) with a script's user agent.
    fn failure(&mut self) -> Value {
        if self.burst.is_none() && self.rng.random_bool(0.03) {
            let attacker = self.pick(&ATTACKERS);
            self.burst = Some((attacker, self.rng.random_range(20..60)));
        }
        if let Some((attacker, left)) = self.burst {
            self.burst = (left > 1).then_some((attacker, left - 1));
            let name = if self.rng.random_bool(0.2) {
                self.pick(&GUESSED_NAMES).to_owned()
            } else {
                username(self.rng.random_range(0..USERS))
            };
            return json!({
                "user_id": null,
                "username": name,
                "ip_address": attacker,
                "user_agent": "python-requests/2.31.0",
                "reason": "Invalid credentials",
                "event_data": {"attempt": 1, "risk_score": self.rng.random_range(70..100)},
            });
        }
        json!({
            "reason": self.pick(&FAILURE_REASONS),
            "event_data": {"attempt": self.rng.random_range(1..4), "risk_score": self.rng.random_range(0..40)},
        })
    }
}

/// 40 first names × 50 last names × 10 numeric suffixes: 20,000 distinct names.
fn username(index: usize) -> String {
    let first = FIRST[index % FIRST.len()];
    let last = LAST[(index / FIRST.len()) % LAST.len()];
    match index / (FIRST.len() * LAST.len()) {
        0 => format!("{first}.{last}"),
        n => format!("{first}.{last}{n}"),
    }
}

/// Each user's usual address: a third on the office VPN, one in twelve on IPv6, the rest public.
fn home_ip(index: usize) -> String {
    // Spreads neighbouring ids over the address space.
    let h = (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 16;
    if index.is_multiple_of(12) {
        let (a, b, c) = (h & 0xffff, (h >> 16) & 0xffff, ((h >> 32) & 0xfff) | 1);
        format!("2001:db8:{a:x}:{b:x}::{c:x}")
    } else if index.is_multiple_of(3) {
        format!("10.{}.{}.{}", (h >> 8) & 255, (h >> 16) & 255, 1 + h % 254)
    } else {
        let first = 1 + (h >> 24) % 223;
        format!(
            "{first}.{}.{}.{}",
            (h >> 8) & 255,
            (h >> 16) & 255,
            1 + h % 254
        )
    }
}
