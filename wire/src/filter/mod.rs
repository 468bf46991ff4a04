//! `EventFilter`: the one description of "which events" shared by the read API, the dashboard's
//! URLs, exports and the live stream. Parsed once from query parameters; printed back the same way.

mod exclude;
mod values;

pub use exclude::{Exclusions, EXCLUSION_PARAMS, MAX_EXCLUDED};
pub use values::{IpMatch, TimeBound};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{ActionResult, Category, EventType, Severity};
use values::in_network;

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
    /// A user agent, exactly (what a facet's value adds).
    #[serde(default)]
    pub user_agent: Option<String>,
    /// An OAuth client id, exactly.
    #[serde(default)]
    pub client_id: Option<String>,
    pub since: Option<TimeBound>,
    pub until: Option<TimeBound>,
    /// What to leave out (`-user=…`, `-source=vigil`, …).
    #[serde(default, skip_serializing_if = "Exclusions::is_empty")]
    pub exclude: Exclusions,
}

/// Longest accepted value of a text parameter, in bytes.
const MAX_PARAM_LEN: usize = 512;
/// A stored user agent may be 1,024 characters (up to 4 bytes each): a facet links to any.
const MAX_USER_AGENT_PARAM_LEN: usize = 4 * 1024;

impl EventFilter {
    /// Parses query parameters (`user`, `ip`, `type` — repeatable or comma-separated, types or
    /// categories —, `result`, `severity`, `source`, `session`, `q`, `user_agent`, `client_id`,
    /// `since`, `until`, and the exclusions `-user`, `-ip`, … of `Exclusions`). Unknown
    /// parameters are left to the caller (paging uses `limit` and `cursor`). Empty values are ignored.
    pub fn from_params<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, FilterError> {
        let mut filter = EventFilter::default();
        for (name, value) in params {
            if value.trim().is_empty() {
                continue;
            }
            // Values compared exactly with stored text are taken as sent: a facet's link to
            // " admin" must not mean "admin".
            let exact = matches!(
                name.trim_start_matches('-'),
                "user" | "source" | "user_agent" | "client_id"
            );
            let value = if exact { value } else { value.trim() };
            let max = match name.trim_start_matches('-') {
                "user_agent" => MAX_USER_AGENT_PARAM_LEN,
                _ => MAX_PARAM_LEN,
            };
            if value.len() > max {
                return Err(invalid(name, format!("must be at most {max} characters")));
            }
            let text = || Some(value.to_owned());
            if filter.exclude.take(name, value)? {
                continue;
            }
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
                "user_agent" => filter.user_agent = text(),
                "client_id" => filter.client_id = text(),
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

    /// The same filter, checked as `from_params` checks a query: for a filter that arrived some
    /// other way (deserialised from a client), whose values nothing has validated yet.
    pub fn revalidated(&self) -> Result<Self, FilterError> {
        let params = self.to_params();
        EventFilter::from_params(params.iter().map(|(name, value)| (*name, value.as_str())))
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
        push("user_agent", self.user_agent.clone());
        push("client_id", self.client_id.clone());
        push("since", self.since.as_ref().map(ToString::to_string));
        push("until", self.until.as_ref().map(ToString::to_string));
        self.exclude.push_params(&mut params);
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
        let exact = |wanted: &Option<String>, value: &Option<String>| {
            wanted.as_ref().is_none_or(|w| value.as_ref() == Some(w))
        };
        user_ok
            && ip_ok
            && kind_ok
            && text_ok
            && exact(&self.user_agent, &event.user_agent)
            && exact(&self.client_id, &event.client_id)
            && !self.exclude.excludes(event)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What a client deserialised past `from_params` is checked again before use.
    #[test]
    fn revalidating_refuses_what_from_params_would() {
        let valid = EventFilter::from_params([("ip", "10.0.0.0/8"), ("since", "24h")]).unwrap();
        assert_eq!(valid.revalidated().unwrap(), valid);
        let wide_prefix = EventFilter {
            ip: Some(IpMatch {
                addr: "10.0.0.1".parse().unwrap(),
                prefix: 200,
            }),
            ..EventFilter::default()
        };
        assert_eq!(wide_prefix.revalidated().unwrap_err().param, "ip");
        let far_back = EventFilter {
            since: Some(TimeBound::Ago {
                amount: u32::MAX,
                unit: 'h',
            }),
            ..EventFilter::default()
        };
        assert_eq!(far_back.revalidated().unwrap_err().param, "since");
    }

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
}
