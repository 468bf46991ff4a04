//! `EventFilter`: the one description of "which events" shared by the read API, the dashboard's
//! URLs, exports and the live stream. Parsed once from query parameters; printed back the same way.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

use crate::{ActionResult, Category, EventType, Severity};

/// A problem with one query parameter.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("`{param}`: {reason}")]
pub struct FilterError {
    pub param: String,
    pub reason: String,
}

fn invalid(param: &str, reason: impl Into<String>) -> FilterError {
    FilterError {
        param: param.to_owned(),
        reason: reason.into(),
    }
}

/// An address, or a network in CIDR notation (`10.1.0.0/16`, `2001:db8::/32`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpMatch {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IpMatch {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let (addr, prefix) = match raw.trim().split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (raw.trim(), None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| "must be an IP address or a CIDR network".to_owned())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("the prefix length must be 0 to {max}"))?,
        };
        Ok(IpMatch { addr, prefix })
    }

    /// Whether this names one host rather than a network.
    pub fn is_host(&self) -> bool {
        self.prefix == if self.addr.is_ipv4() { 32 } else { 128 }
    }
}

impl fmt::Display for IpMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_host() {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

/// A time bound: absolute, or relative to now (`15m`, `1h`, `24h`, `7d`), kept as written so a
/// shared link keeps meaning "the last hour".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimeBound {
    At(DateTime<Utc>),
    Ago { amount: u32, unit: char },
}

impl TimeBound {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if let Some(unit) = raw
            .chars()
            .last()
            .filter(|c| matches!(c, 's' | 'm' | 'h' | 'd' | 'w'))
        {
            if let Ok(amount) = raw[..raw.len() - 1].parse::<u32>() {
                return Ok(TimeBound::Ago { amount, unit });
            }
        }
        DateTime::parse_from_rfc3339(raw)
            .map(|t| TimeBound::At(t.with_timezone(&Utc)))
            .map_err(|_| {
                "must be an RFC 3339 time or a duration such as 15m, 1h, 24h, 7d".to_owned()
            })
    }

    /// The instant this bound names, given the current time.
    pub fn resolve(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        match *self {
            TimeBound::At(t) => t,
            TimeBound::Ago { amount, unit } => {
                let amount = i64::from(amount);
                let span = match unit {
                    's' => Duration::seconds(amount),
                    'm' => Duration::minutes(amount),
                    'h' => Duration::hours(amount),
                    'd' => Duration::days(amount),
                    _ => Duration::weeks(amount),
                };
                now - span
            }
        }
    }
}

impl fmt::Display for TimeBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeBound::At(t) => write!(
                f,
                "{}",
                t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            ),
            TimeBound::Ago { amount, unit } => write!(f, "{amount}{unit}"),
        }
    }
}

/// Which events. Every field narrows; an empty filter matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventFilter {
    /// Matches `user_id` or `username`, exactly.
    pub user: Option<String>,
    pub ip: Option<IpMatch>,
    /// Event types, canonical.
    pub types: Vec<EventType>,
    /// Whole categories (`mfa`, `api_key`, …).
    pub categories: Vec<Category>,
    pub result: Option<ActionResult>,
    pub severity: Option<Severity>,
    /// The producer key's name.
    pub source: Option<String>,
    /// A raw session id; matched through its stored fingerprint.
    pub session: Option<String>,
    /// A stored session fingerprint (what the dashboard's pivot links carry).
    pub session_fp: Option<String>,
    /// Text contained in `reason`, `error_message` or `user_agent` (case-insensitive).
    pub text: Option<String>,
    pub since: Option<TimeBound>,
    pub until: Option<TimeBound>,
}

/// Longest accepted value of a text parameter.
const MAX_PARAM_LEN: usize = 512;

impl EventFilter {
    /// Parses query parameters (`user`, `ip`, `type` — repeatable or comma-separated, types or
    /// categories —, `result`, `severity`, `source`, `session`, `q`, `since`, `until`). Unknown
    /// parameters are left to the caller (paging uses `limit` and `cursor`). Empty values are ignored.
    pub fn from_params<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, FilterError> {
        let mut filter = EventFilter::default();
        for (name, value) in params {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            if value.len() > MAX_PARAM_LEN {
                return Err(invalid(
                    name,
                    format!("must be at most {MAX_PARAM_LEN} characters"),
                ));
            }
            let text = || Some(value.to_owned());
            match name {
                "user" => filter.user = text(),
                "ip" => filter.ip = Some(IpMatch::parse(value).map_err(|r| invalid(name, r))?),
                "type" => {
                    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        match category_named(item) {
                            Some(category) if !filter.categories.contains(&category) => {
                                filter.categories.push(category)
                            }
                            Some(_) => {}
                            None => {
                                let t = EventType::parse(item)
                                    .map_err(|e| invalid(name, e.to_string()))?;
                                if !filter.types.contains(&t) {
                                    filter.types.push(t);
                                }
                            }
                        }
                    }
                }
                "result" => {
                    filter.result = Some(
                        value
                            .parse()
                            .map_err(|e: crate::OutcomeError| invalid(name, e.to_string()))?,
                    )
                }
                "severity" => {
                    filter.severity = Some(
                        value
                            .parse()
                            .map_err(|e: crate::OutcomeError| invalid(name, e.to_string()))?,
                    )
                }
                "source" => filter.source = text(),
                "session" => filter.session = text(),
                "session_fp" => filter.session_fp = text(),
                "q" => filter.text = text(),
                "since" => {
                    filter.since = Some(TimeBound::parse(value).map_err(|r| invalid(name, r))?)
                }
                "until" => {
                    filter.until = Some(TimeBound::parse(value).map_err(|r| invalid(name, r))?)
                }
                _ => {}
            }
        }
        Ok(filter)
    }

    /// The filter as query parameters, in a stable order; `from_params` reads them back.
    pub fn to_params(&self) -> Vec<(&'static str, String)> {
        let mut params = Vec::new();
        let mut push = |name, value: Option<String>| {
            if let Some(v) = value {
                params.push((name, v));
            }
        };
        push("user", self.user.clone());
        push("ip", self.ip.map(|ip| ip.to_string()));
        let kinds: Vec<String> = self
            .categories
            .iter()
            .map(|c| c.as_str().to_owned())
            .chain(self.types.iter().map(|t| t.as_str().to_owned()))
            .collect();
        push("type", (!kinds.is_empty()).then(|| kinds.join(",")));
        push("result", self.result.map(|r| r.as_str().to_owned()));
        push("severity", self.severity.map(|s| s.as_str().to_owned()));
        push("source", self.source.clone());
        push("session", self.session.clone());
        push("session_fp", self.session_fp.clone());
        push("q", self.text.clone());
        push("since", self.since.as_ref().map(ToString::to_string));
        push("until", self.until.as_ref().map(ToString::to_string));
        params
    }

    /// Whether a stored event matches (what the live stream applies to each new event).
    pub fn matches(
        &self,
        event: &crate::StoredEvent,
        session_fingerprint: Option<&str>,
        now: DateTime<Utc>,
    ) -> bool {
        let user_ok = self.user.as_ref().is_none_or(|u| {
            event.user_id.as_deref() == Some(u.as_str())
                || event.username.as_deref() == Some(u.as_str())
        });
        let ip_ok = self
            .ip
            .is_none_or(|m| event.ip_address.is_some_and(|ip| in_network(ip, m)));
        let kind_ok = (self.types.is_empty() && self.categories.is_empty())
            || self.types.iter().any(|t| t.as_str() == event.event_type)
            || self.categories.contains(&event.category);
        let text_ok = self.text.as_ref().is_none_or(|q| {
            let q = q.to_lowercase();
            [&event.reason, &event.error_message, &event.user_agent]
                .iter()
                .any(|f| f.as_ref().is_some_and(|v| v.to_lowercase().contains(&q)))
        });
        user_ok
            && ip_ok
            && kind_ok
            && text_ok
            && self.result.is_none_or(|r| r == event.action_result)
            && self.severity.is_none_or(|s| s == event.severity)
            && self.source.as_ref().is_none_or(|s| *s == event.source)
            && (self.session.is_none()
                || session_fingerprint
                    .is_some_and(|f| event.session_fingerprint.as_deref() == Some(f)))
            && self
                .session_fp
                .as_ref()
                .is_none_or(|f| event.session_fingerprint.as_ref() == Some(f))
            && self
                .since
                .as_ref()
                .is_none_or(|b| event.occurred_at >= b.resolve(now))
            && self
                .until
                .as_ref()
                .is_none_or(|b| event.occurred_at < b.resolve(now))
    }
}

fn category_named(name: &str) -> Option<Category> {
    [
        Category::Authentication,
        Category::Token,
        Category::Oauth,
        Category::Mfa,
        Category::Password,
        Category::ApiKey,
        Category::Custom,
    ]
    .into_iter()
    .find(|c| c.as_str() == name)
}

fn in_network(ip: IpAddr, net: IpMatch) -> bool {
    match (ip, net.addr) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(net.prefix))
                .unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(net.prefix))
                .unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &[(&str, &str)]) -> Result<EventFilter, FilterError> {
        EventFilter::from_params(query.iter().copied())
    }

    #[test]
    fn parameters_round_trip() {
        let filter = parse(&[
            ("user", "alice"),
            ("ip", "10.1.0.0/16"),
            ("type", "mfa, LOGIN_FAILURE"),
            ("type", "auth.logout"),
            ("result", "failure"),
            ("since", "24h"),
            ("until", "2026-01-02T03:04:05Z"),
            ("q", "expired"),
            ("limit", "10"),
        ])
        .unwrap();
        assert_eq!(filter.categories, [Category::Mfa]);
        assert_eq!(
            filter
                .types
                .iter()
                .map(EventType::as_str)
                .collect::<Vec<_>>(),
            ["auth.login.failure", "auth.logout"]
        );
        let params = filter.to_params();
        let again = EventFilter::from_params(params.iter().map(|(k, v)| (*k, v.as_str()))).unwrap();
        assert_eq!(again, filter);
    }

    #[test]
    fn bad_values_name_their_parameter() {
        assert_eq!(parse(&[("ip", "10.0.0.0/33")]).unwrap_err().param, "ip");
        assert_eq!(parse(&[("ip", "nope")]).unwrap_err().param, "ip");
        assert_eq!(parse(&[("type", "Bad Type")]).unwrap_err().param, "type");
        assert_eq!(parse(&[("result", "meh")]).unwrap_err().param, "result");
        assert_eq!(parse(&[("since", "yesterday")]).unwrap_err().param, "since");
    }

    #[test]
    fn relative_times_resolve_against_now() {
        let now = DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            TimeBound::parse("15m").unwrap().resolve(now),
            now - Duration::minutes(15)
        );
        assert_eq!(
            TimeBound::parse("7d").unwrap().resolve(now),
            now - Duration::days(7)
        );
    }

    #[test]
    fn cidr_matching_covers_v4_and_v6() {
        let v4 = IpMatch::parse("10.1.0.0/16").unwrap();
        assert!(in_network("10.1.200.3".parse().unwrap(), v4));
        assert!(!in_network("10.2.0.1".parse().unwrap(), v4));
        let v6 = IpMatch::parse("2001:db8::/32").unwrap();
        assert!(in_network("2001:db8:1::5".parse().unwrap(), v6));
        assert!(!in_network("2001:db9::1".parse().unwrap(), v6));
        assert!(!in_network("10.1.0.1".parse().unwrap(), v6));
        assert!(in_network(
            "192.0.2.1".parse().unwrap(),
            IpMatch::parse("0.0.0.0/0").unwrap()
        ));
        assert_eq!(
            IpMatch::parse("192.0.2.7").unwrap().to_string(),
            "192.0.2.7"
        );
    }
}
