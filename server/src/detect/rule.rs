//! What a detection rule is: a filter in the explorer's vocabulary, a group key, a window in
//! event time, and one of four kinds after Sigma's correlation rules.

use std::fmt;
use std::time::Duration;

use vigil_wire::{AlertSeverity, EventFilter, StoredEvent};

/// Most events a threshold or sequence rule may ask for, and distinct values: the state a key
/// keeps is bounded by it.
pub const MAX_COUNT: u32 = 1000;
/// The longest window a rule may have.
pub const MAX_WINDOW: Duration = Duration::from_secs(7 * 86_400);
/// The longest history a first-seen rule may look back over.
pub const MAX_HISTORY_DAYS: u32 = 90;

/// What events of one key have in common.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    /// The client address.
    Ip,
    /// The address's network: its /24 for IPv4, its /64 for IPv6.
    Network,
    /// `user_id`, else `username`.
    User,
    Username,
    Source,
    ApiKeyId,
    ClientId,
    UserAgent,
    EventType,
}

impl Part {
    pub const ALL: [Part; 9] = [
        Part::Ip,
        Part::Network,
        Part::User,
        Part::Username,
        Part::Source,
        Part::ApiKeyId,
        Part::ClientId,
        Part::UserAgent,
        Part::EventType,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Part::Ip => "ip",
            Part::Network => "network",
            Part::User => "user",
            Part::Username => "username",
            Part::Source => "source",
            Part::ApiKeyId => "api_key_id",
            Part::ClientId => "client_id",
            Part::UserAgent => "user_agent",
            Part::EventType => "event_type",
        }
    }

    pub fn named(name: &str) -> Option<Part> {
        Part::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The event's value of this part, if it has one.
    pub fn of(self, event: &StoredEvent) -> Option<String> {
        let text = |v: &Option<String>| v.as_ref().filter(|s| !s.is_empty()).cloned();
        match self {
            Part::Ip => event.ip_address.map(|ip| ip.to_string()),
            Part::Network => event.ip_address.map(crate::events::grouping_network),
            Part::User => text(&event.user_id).or_else(|| text(&event.username)),
            Part::Username => text(&event.username),
            Part::Source => Some(event.source.clone()),
            Part::ApiKeyId => text(&event.api_key_id),
            Part::ClientId => text(&event.client_id),
            Part::UserAgent => text(&event.user_agent),
            Part::EventType => Some(event.event_type.clone()),
        }
    }

    /// The explorer parameter reproducing `value` of this part, where the explorer has one.
    pub fn as_param(self, value: &str) -> Option<(&'static str, String)> {
        match self {
            Part::Ip | Part::Network => Some(("ip", value.to_owned())),
            Part::User | Part::Username => Some(("user", value.to_owned())),
            Part::Source => Some(("source", value.to_owned())),
            Part::EventType => Some(("type", value.to_owned())),
            Part::ApiKeyId | Part::ClientId | Part::UserAgent => None,
        }
    }
}

/// One or two parts: the alert's group key, e.g. `ip=203.0.113.7` or `user=alice ip=…`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupBy(pub Vec<Part>);

impl GroupBy {
    /// The event's key, or `None` when it lacks a part (it then belongs to no group).
    pub fn key_of(&self, event: &StoredEvent) -> Option<GroupKey> {
        let values: Option<Vec<String>> = self.0.iter().map(|p| p.of(event)).collect();
        Some(GroupKey {
            parts: self.0.iter().copied().zip(values?).collect(),
        })
    }
}

impl fmt::Display for GroupBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|p| p.name()).collect();
        f.write_str(&names.join("+"))
    }
}

/// A group's values.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GroupKey {
    pub parts: Vec<(Part, String)>,
}

impl fmt::Display for GroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (part, value)) in self.parts.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{}={value}", part.name())?;
        }
        Ok(())
    }
}

/// The four kinds.
#[derive(Clone, Debug, PartialEq)]
pub enum RuleKind {
    /// At least `count` matching events of one key within the window.
    Threshold { count: u32 },
    /// At least `count` distinct values of `field` among one key's matching events within the
    /// window.
    Distinct { field: Part, count: u32 },
    /// At least `count` matching events of one key, then one matching `then`, within the window.
    Sequence { count: u32, then: Box<EventFilter> },
    /// A value of `field` that one key has not had in the last `history_days` days, for a key
    /// that has had others in that time (a brand-new key is not news).
    FirstSeen { field: Part, history_days: u32 },
}

impl RuleKind {
    pub fn name(&self) -> &'static str {
        match self {
            RuleKind::Threshold { .. } => "threshold",
            RuleKind::Distinct { .. } => "distinct",
            RuleKind::Sequence { .. } => "sequence",
            RuleKind::FirstSeen { .. } => "first_seen",
        }
    }
}

/// A rule, built in or from the rules file.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub severity: AlertSeverity,
    /// What it means and what to do.
    pub description: String,
    /// Which events count (for a sequence: the run before `then`).
    pub filter: EventFilter,
    pub group_by: GroupBy,
    /// In event time (`occurred_at`).
    pub window: Duration,
    pub kind: RuleKind,
    pub enabled: bool,
    /// Where it came from: `built-in` or the rules file.
    pub origin: &'static str,
}

impl Rule {
    /// As the API and the dashboard describe it.
    pub fn info(&self) -> vigil_wire::RuleInfo {
        let within = format_duration(self.window);
        let condition = match &self.kind {
            RuleKind::Threshold { count } => {
                format!(
                    "{count} matching events with the same {} within {within}",
                    self.group_by
                )
            }
            RuleKind::Distinct { field, count } => format!(
                "{count} distinct {} among matching events with the same {} within {within}",
                field.name(),
                self.group_by
            ),
            RuleKind::Sequence { count, then } => {
                let then = form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(then.to_params())
                    .finish();
                format!(
                    "{count} matching events, then one matching `{then}`, with the same {} within {within}",
                    self.group_by
                )
            }
            RuleKind::FirstSeen {
                field,
                history_days,
            } => format!(
                "a {} not seen for the same {} in the last {history_days} days",
                field.name(),
                self.group_by
            ),
        };
        vigil_wire::RuleInfo {
            id: self.id.clone(),
            title: self.title.clone(),
            severity: self.severity,
            description: self.description.clone(),
            kind: self.kind.name().to_owned(),
            condition,
            filter: form_urlencoded::Serializer::new(String::new())
                .extend_pairs(self.filter.to_params())
                .finish(),
            enabled: self.enabled,
            origin: self.origin.to_owned(),
        }
    }

    /// Whether the event is one this rule looks at at all.
    pub fn looks_at(&self, event: &StoredEvent) -> bool {
        let now = event.received_at;
        self.filter.matches(event, None, now)
            || matches!(&self.kind, RuleKind::Sequence { then, .. } if then.matches(event, None, now))
    }

    /// Checks what the rules file cannot express wrongly by its types alone.
    pub fn validate(&self) -> Result<(), RuleError> {
        let fail = |field: &str, why: String| {
            Err(RuleError {
                rule: self.id.clone(),
                field: field.to_owned(),
                reason: why,
            })
        };
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 64
            && (self.id.chars()).all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !id_ok {
            return fail("id", "must be 1–64 lowercase letters, digits and -".into());
        }
        if self.title.trim().is_empty() || self.title.chars().count() > 200 {
            return fail("title", "must be 1–200 characters".into());
        }
        if self.group_by.0.is_empty() || self.group_by.0.len() > 2 {
            return fail("group_by", "must name one or two of: ip, network, user, username, source, api_key_id, client_id, user_agent, event_type".into());
        }
        if self.window.is_zero() || self.window > MAX_WINDOW {
            return fail("window", "must be between 1 second and 7 days".into());
        }
        let has_time = |f: &EventFilter| f.since.is_some() || f.until.is_some();
        if has_time(&self.filter) {
            return fail(
                "filter",
                "a rule's filter may not have since or until: the window is its time".into(),
            );
        }
        let count = match &self.kind {
            RuleKind::Threshold { count } | RuleKind::Distinct { count, .. } => Some(*count),
            RuleKind::Sequence { count, then } => {
                if has_time(then) {
                    return fail("then", "may not have since or until".into());
                }
                Some(*count)
            }
            RuleKind::FirstSeen { history_days, .. } => {
                if *history_days == 0 || *history_days > MAX_HISTORY_DAYS {
                    return fail("history", format!("must be 1–{MAX_HISTORY_DAYS} days"));
                }
                None
            }
        };
        if let Some(count) = count {
            if count == 0 || count > MAX_COUNT {
                return fail("count", format!("must be 1–{MAX_COUNT}"));
            }
        }
        Ok(())
    }
}

/// A rule that cannot be used: which rule, which field, why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("rule `{rule}`: `{field}` {reason}")]
pub struct RuleError {
    pub rule: String,
    pub field: String,
    pub reason: String,
}

/// `30s`, `2m`, `1h`, `14d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let amount: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 30s, 2m, 1h or 14d"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "`{text}` is not a duration like 30s, 2m, 1h or 14d"
            ))
        }
    };
    amount
        .checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{text}` is too long"))
}

/// `2m` for 120 s: the shortest exact spelling.
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print_back() {
        for (text, secs) in [("30s", 30), ("2m", 120), ("1h", 3600), ("14d", 1_209_600)] {
            assert_eq!(parse_duration(text), Ok(Duration::from_secs(secs)));
            assert_eq!(format_duration(Duration::from_secs(secs)), text);
        }
        for bad in ["", "m", "5x", "-1m", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
