//! The SQL of an `EventFilter`: the conditions every read of `events` (pages, exports, charts,
//! the live catch-up) adds after `where true`, and the aggregates' queries too, whose columns
//! carry the same names.

use chrono::{DateTime, Utc};
use ipnetwork::IpNetwork;
use sqlx::{Postgres, QueryBuilder};
use vigil_wire::{Category, EventFilter, EventType, Exclusions, KNOWN_EVENT_TYPES};

use crate::events::session_fingerprint;

/// The two halves of a user filter (`user_id = x or username = x`), which never share a row.
#[derive(Clone, Copy, Debug)]
pub(super) enum UserSide {
    /// `username = x`.
    Username,
    /// `user_id = x` where the username is not also x.
    UserIdOnly,
}

impl UserSide {
    /// Both halves, which together are the whole user filter.
    pub const BOTH: [UserSide; 2] = [UserSide::Username, UserSide::UserIdOnly];
}

pub(super) fn push_user_side(sql: &mut QueryBuilder<'_, Postgres>, side: UserSide, user: &str) {
    match side {
        UserSide::Username => sql.push(" and username = ").push_bind(user.to_owned()),
        UserSide::UserIdOnly => {
            sql.push(" and user_id = ").push_bind(user.to_owned());
            sql.push(" and username is distinct from ")
                .push_bind(user.to_owned())
        }
    };
}

/// The event types a filter's types and categories name: its own types and every known type
/// of its categories (without repeats, in the vocabulary's order after its own), and whether
/// it asks for custom types.
pub(super) struct Kinds {
    pub types: Vec<String>,
    pub custom: bool,
}

pub(super) fn kinds_of(filter: &EventFilter) -> Kinds {
    let mut types: Vec<String> = filter.types.iter().map(|t| t.as_str().to_owned()).collect();
    for known in KNOWN_EVENT_TYPES {
        if filter.categories.contains(&known.category)
            && !types.iter().any(|t| t == known.canonical)
        {
            types.push(known.canonical.to_owned());
        }
    }
    Kinds {
        types,
        custom: filter.categories.contains(&Category::Custom),
    }
}

/// The session index keeps a 64-bit hash of the fingerprint (8 bytes where the text takes 40,
/// migrations/0014_session_hash_index.sql): the hash finds the range, the text confirms it.
fn push_session(sql: &mut QueryBuilder<'_, Postgres>, fingerprint: String) {
    sql.push(" and hashtextextended(session_fingerprint, 0) = hashtextextended(")
        .push_bind(fingerprint.clone())
        .push(", 0) and session_fingerprint = ")
        .push_bind(fingerprint);
}

/// `column = value` for one value, so a prepared statement's generic plan still reads the
/// column's index in time order; `= any(list)` for several.
fn push_one_of<T>(sql: &mut QueryBuilder<'_, Postgres>, column: &str, mut values: Vec<T>)
where
    T: for<'q> sqlx::Encode<'q, Postgres>
        + sqlx::Type<Postgres>
        + sqlx::postgres::PgHasArrayType
        + Send
        + 'static,
{
    if values.len() == 1 {
        let value = values.pop().expect("one value");
        sql.push(format!(" and {column} = ")).push_bind(value);
    } else {
        sql.push(format!(" and {column} = any("))
            .push_bind(values)
            .push(")");
    }
}

/// Adds the filter's conditions to a query that already says `where true`.
pub(super) fn push_conditions(
    sql: &mut QueryBuilder<'_, Postgres>,
    filter: &EventFilter,
    now: DateTime<Utc>,
) {
    if let Some(user) = &filter.user {
        sql.push(" and (user_id = ").push_bind(user.clone());
        sql.push(" or username = ")
            .push_bind(user.clone())
            .push(")");
    }
    if let Some(ip) = filter.ip {
        let network = network_of(ip);
        if ip.is_host() {
            sql.push(" and ip_address = ").push_bind(network);
        } else {
            sql.push(" and ip_address <<= ").push_bind(network);
        }
    }
    // A known type's category is fixed, so a category is its types and the type index
    // serves it (there is no category index). Only custom types are matched by category.
    let Kinds { types, custom } = kinds_of(filter);
    match (types.is_empty(), custom) {
        (true, false) => {}
        (false, false) => push_one_of(sql, "event_type", types),
        (true, true) => {
            sql.push(" and category = 'custom'");
        }
        (false, true) => {
            sql.push(" and (event_type = any(").push_bind(types);
            sql.push(") or category = 'custom')");
        }
    }
    if let Some(result) = filter.result {
        sql.push(" and action_result = ").push_bind(result.as_str());
    }
    if let Some(severity) = filter.severity {
        sql.push(" and severity = ").push_bind(severity.as_str());
    }
    if let Some(source) = &filter.source {
        sql.push(" and source = ").push_bind(source.clone());
    }
    if let Some(session) = &filter.session {
        push_session(sql, session_fingerprint(session));
    }
    if let Some(fingerprint) = &filter.session_fp {
        push_session(sql, fingerprint.clone());
    }
    if let Some(text) = &filter.text {
        let pattern = format!("%{}%", escape_like(text));
        sql.push(" and (reason ilike ").push_bind(pattern.clone());
        sql.push(" or error_message ilike ")
            .push_bind(pattern.clone());
        sql.push(" or user_agent ilike ")
            .push_bind(pattern)
            .push(")");
    }
    if let Some(agent) = &filter.user_agent {
        sql.push(" and user_agent = ").push_bind(agent.clone());
    }
    if let Some(client) = &filter.client_id {
        sql.push(" and client_id = ").push_bind(client.clone());
    }
    push_exclusions(sql, &filter.exclude);
    if let Some(since) = &filter.since {
        sql.push(" and occurred_at >= ")
            .push_bind(since.resolve(now));
    }
    if let Some(until) = &filter.until {
        sql.push(" and occurred_at < ")
            .push_bind(until.resolve(now));
    }
}

/// `-user=…`, `-ip=…`, …: an event without the field is never left out by it, so each
/// nullable column is tested with `is null or`.
fn push_exclusions(sql: &mut QueryBuilder<'_, Postgres>, exclude: &Exclusions) {
    let mut none_of = |column: &str, nullable: bool, values: Vec<String>| {
        if values.is_empty() {
            return;
        }
        let null = if nullable {
            format!("{column} is null or ")
        } else {
            String::new()
        };
        sql.push(format!(" and ({null}{column} <> all("))
            .push_bind(values)
            .push("))");
    };
    none_of("user_id", true, exclude.users.clone());
    none_of("username", true, exclude.users.clone());
    let names = |list: &[EventType]| list.iter().map(|t| t.as_str().to_owned()).collect();
    none_of("event_type", false, names(&exclude.types));
    let categories = exclude.categories.iter().map(|c| c.as_str().to_owned());
    none_of("category", false, categories.collect());
    let results = exclude.results.iter().map(|r| r.as_str().to_owned());
    none_of("action_result", false, results.collect());
    none_of("source", false, exclude.sources.clone());
    none_of("user_agent", true, exclude.user_agents.clone());
    none_of("client_id", true, exclude.client_ids.clone());
    if !exclude.ips.is_empty() {
        let networks: Vec<IpNetwork> = exclude.ips.iter().copied().map(network_of).collect();
        sql.push(" and (ip_address is null or not ip_address <<= any(")
            .push_bind(networks)
            .push("::inet[]))");
    }
}

/// `%`, `_` and `\` in user text are literal characters, not patterns.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

pub(super) fn network_of(ip: vigil_wire::IpMatch) -> IpNetwork {
    IpNetwork::new(ip.addr, ip.prefix).expect("prefix validated by IpMatch")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_metacharacters_are_literal() {
        assert_eq!(escape_like(r"50%_off\"), r"50\%\_off\\");
    }
}
