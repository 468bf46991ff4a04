//! An entity's profile: what the dashboard's `/users/{user}` and `/ips/{ip}` pages show about
//! one user or one address over a time range. Computed by the server, drawn by the wasm pages.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

use crate::{ActionResult, AlertSeverity, AlertStatus};

/// Who or what a page is about. A user is matched as the explorer's `user` filter matches: its
/// `user_id` or its `username`, exactly.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Entity {
    User(String),
    Ip(IpAddr),
}

/// Longest user the entity pages look up, in characters (the explorer's filter limit).
pub const MAX_ENTITY_USER_CHARS: usize = 512;

impl Entity {
    /// A user as it arrived in a URL: refused when empty or beyond `MAX_ENTITY_USER_CHARS`.
    pub fn user(raw: &str) -> Result<Entity, String> {
        let chars = raw.chars().count();
        if raw.is_empty() {
            return Err("a user id or username is needed".to_owned());
        }
        if chars > MAX_ENTITY_USER_CHARS {
            return Err(format!(
                "a user is at most {MAX_ENTITY_USER_CHARS} characters (this one has {chars})"
            ));
        }
        Ok(Entity::User(raw.to_owned()))
    }

    /// An address as it arrived in a URL: one host, IPv4 or IPv6, never a network.
    pub fn ip(raw: &str) -> Result<Entity, String> {
        raw.trim()
            .parse::<IpAddr>()
            .map(Entity::Ip)
            .map_err(|_| "not an IP address".to_owned())
    }

    /// Checks an entity that arrived some other way (deserialised from a browser) as a URL's is.
    pub fn revalidated(&self) -> Result<Entity, String> {
        match self {
            Entity::User(user) => Entity::user(user),
            Entity::Ip(ip) => Ok(Entity::Ip(*ip)),
        }
    }

    /// The explorer parameter that lists this entity's events (`user` or `ip`).
    pub fn param(&self) -> &'static str {
        match self {
            Entity::User(_) => "user",
            Entity::Ip(_) => "ip",
        }
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entity::User(user) => f.write_str(user),
            Entity::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// Events of one event type and result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeCount {
    pub event_type: String,
    pub result: ActionResult,
    pub count: i64,
}

/// One value seen with the entity (an address of a user, a user of an address, a user agent, a
/// source, a neighbouring address), with how often and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenValue {
    pub value: String,
    pub count: i64,
    pub failures: i64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

/// An alert whose group key names the entity (`user=alice`, `ip=203.0.113.7`, its network).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityAlert {
    pub id: i64,
    pub rule_id: String,
    pub title: String,
    pub severity: AlertSeverity,
    pub status: AlertStatus,
    pub group_key: String,
    pub event_count: i64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

/// Activity of the other addresses in an address's /24 (IPv4) or /48 (IPv6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Neighbours {
    /// `203.0.113.0/24`, `2001:db8:bad::/48`.
    pub network: String,
    /// Busiest first.
    pub addresses: Vec<SeenValue>,
    /// Some counts stopped at the per-address cap, or more addresses exist than were walked.
    pub partial: bool,
    /// Events counted per address at most.
    pub per_address_cap: i64,
    /// Addresses looked at at most.
    pub addresses_cap: i64,
}

/// What the entity pages show about one user or address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityProfile {
    pub entity: Entity,
    /// The entity's first and last event of all time (`None`: never seen).
    pub first_seen: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    /// The range the panels below count, `[since, until)`.
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Events counted in range: all of them, or the newest `cap` when `partial`.
    pub counted: i64,
    /// More than `cap` events are in range; the panels count only the newest `cap`.
    pub partial: bool,
    pub cap: i64,
    /// By event type, then result.
    pub outcomes: Vec<OutcomeCount>,
    /// A user's addresses or an address's users, busiest first.
    pub related: Vec<SeenValue>,
    pub user_agents: Vec<SeenValue>,
    pub sources: Vec<SeenValue>,
    /// For an address only; `None` also when counting them ran over the server's budget.
    pub neighbours: Option<Neighbours>,
    /// Newest first.
    pub alerts: Vec<EntityAlert>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_one_user_or_one_host() {
        assert_eq!(
            Entity::user("a/b?c#d é"),
            Ok(Entity::User("a/b?c#d é".into()))
        );
        assert!(Entity::user("").is_err());
        assert!(Entity::user(&"x".repeat(MAX_ENTITY_USER_CHARS + 1)).is_err());
        assert_eq!(
            Entity::ip("2001:db8::1"),
            Ok(Entity::Ip("2001:db8::1".parse().unwrap()))
        );
        assert_eq!(Entity::ip("10.0.0.0/8"), Err("not an IP address".into()));
        assert_eq!(Entity::ip("nonsense"), Err("not an IP address".into()));
    }
}
