//! An entity's profile: one user (by `user_id` or `username`) or one address over a time range,
//! for the dashboard's `/users/{user}` and `/ips/{ip}` pages.
//!
//! Every query is bounded however many events the entity has: first and last seen are index
//! min/max probes; the panels aggregate at most the newest `ProfileCaps::events` of the
//! entity's events in range (one index range per column, read newest first); neighbours walk
//! at most `neighbour_addresses` addresses and count at most `neighbour_events` events each.
//! Each statement also runs under a timeout, and past it the neighbours panel says so.

use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};
use std::time::Duration;
use vigil_wire::{ActionResult, Entity, EntityProfile, OutcomeCount, SeenValue};

mod named_alerts;
mod neighbours;

use super::{EventStore, StorageError};

/// Events of the entity in range the panels count at most (the newest ones): each is a heap
/// read, about 8 µs, so 2,000 keep a busy entity's page near 50 ms at 10 M events
/// (docs/BENCHMARKS.md, "Entity pages").
pub const PROFILE_EVENTS_CAP: i64 = 2_000;
/// Events counted per neighbouring address at most.
pub const NEIGHBOUR_EVENTS_CAP: i64 = 200;
/// Neighbouring addresses looked at at most (in address order).
pub const NEIGHBOUR_ADDRESSES_CAP: i64 = 64;
/// Values listed per panel (addresses, users, user agents, sources, neighbours).
pub const VALUES_SHOWN: i64 = 20;
/// Alerts naming the entity listed, newest first.
pub const ALERTS_SHOWN: i64 = 50;
/// The longest one profile statement may run; a neighbours count past it is left out.
pub const PROFILE_BUDGET: Duration = Duration::from_millis(1_000);

/// How much of the entity's history a profile reads; tests pass small ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProfileCaps {
    pub events: i64,
    pub neighbour_events: i64,
    pub neighbour_addresses: i64,
}

impl ProfileCaps {
    /// What the dashboard reads.
    pub const DASHBOARD: ProfileCaps = ProfileCaps {
        events: PROFILE_EVENTS_CAP,
        neighbour_events: NEIGHBOUR_EVENTS_CAP,
        neighbour_addresses: NEIGHBOUR_ADDRESSES_CAP,
    };
}

/// `grouping(event_type, action_result, related, user_agent, source)` of each grouping set.
const BY_OUTCOME: i32 = 0b00111;
const BY_RELATED: i32 = 0b11011;
const BY_USER_AGENT: i32 = 0b11101;
const BY_SOURCE: i32 = 0b11110;
const TOTAL: i32 = 0b11111;

/// One grouping set's row: set, type, result, related, user agent, source, count, failures,
/// first, last, and whether the entity has more events in range than were counted.
type GroupedRow = (
    i32,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    i64,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    bool,
);

impl EventStore {
    /// The profile of `entity` over `[since, until)`.
    #[tracing::instrument(skip(self))]
    pub async fn entity_profile(
        &self,
        entity: &Entity,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        caps: ProfileCaps,
    ) -> Result<EntityProfile, StorageError> {
        let (seen, grouped, neighbours, alerts) = tokio::try_join!(
            self.first_and_last(entity),
            self.grouped(entity, since, until, caps.events),
            self.neighbours(entity, since, until, caps),
            self.alerts_naming(entity),
        )?;
        let mut profile = EntityProfile {
            entity: entity.clone(),
            first_seen: seen.0,
            last_seen: seen.1,
            since,
            until,
            counted: 0,
            partial: false,
            cap: caps.events,
            outcomes: Vec::new(),
            related: Vec::new(),
            user_agents: Vec::new(),
            sources: Vec::new(),
            neighbours,
            alerts,
        };
        for row in grouped {
            let (set, event_type, result, related, agent, source, n, failures, first, last, more) =
                row;
            profile.partial |= more;
            let seen = |value: Option<String>| {
                Some(SeenValue {
                    value: value?,
                    count: n,
                    failures,
                    first_seen: first?,
                    last_seen: last?,
                })
            };
            match set {
                BY_OUTCOME => profile.outcomes.extend(outcome(event_type, result, n)),
                BY_RELATED => profile.related.extend(seen(related)),
                BY_USER_AGENT => profile.user_agents.extend(seen(agent)),
                BY_SOURCE => profile.sources.extend(seen(source)),
                TOTAL => profile.counted = n,
                _ => {}
            }
        }
        Ok(profile)
    }

    /// The entity's first and last event of all time: the newest and oldest entries of its
    /// index ranges.
    async fn first_and_last(
        &self,
        entity: &Entity,
    ) -> Result<(Option<DateTime<Utc>>, Option<DateTime<Utc>>), StorageError> {
        let sql = match entity {
            Entity::User(_) => {
                "select least((select min(occurred_at) from events where user_id = $1), \
                              (select min(occurred_at) from events where username = $1)), \
                        greatest((select max(occurred_at) from events where user_id = $1), \
                                 (select max(occurred_at) from events where username = $1))"
            }
            Entity::Ip(_) => {
                "select min(occurred_at), max(occurred_at) from events where ip_address = $1::inet"
            }
        };
        let mut tx = self.budgeted().await?;
        let seen = sqlx::query_as(sql)
            .bind(entity_value(entity))
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(seen)
    }

    /// Counts per grouping set over the newest `cap` events in range (plus one, to tell whether
    /// more exist), the top `VALUES_SHOWN` of each value panel.
    async fn grouped(
        &self,
        entity: &Entity,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        cap: i64,
    ) -> Result<Vec<GroupedRow>, StorageError> {
        const NEWEST: &str = "and occurred_at >= $2 and occurred_at < $3 \
                              order by occurred_at desc, seq desc limit $4";
        // Only what the panels count is read: the heap fetch per row is most of the cost.
        let picked = |related: &str| {
            format!(
                "select seq, occurred_at, event_type, action_result, {related} as related, \
                 user_agent, source from events"
            )
        };
        // A user's events are two index ranges (user_id, username), each read newest first and
        // each at most cap + 1 long; the second leaves out the rows the first holds, so no
        // row is counted twice and none has to be compared with the others.
        let recent = match entity {
            Entity::User(_) => {
                let picked = picked("host(ip_address)");
                format!(
                    "({picked} where user_id = $1 {NEWEST}) union all \
                     ({picked} where username = $1 and user_id is distinct from $1 {NEWEST})"
                )
            }
            Entity::Ip(_) => format!(
                "{} where ip_address = $1::inet {NEWEST}",
                picked("coalesce(username, user_id)")
            ),
        };
        let sql = format!(
            "with recent as materialized ( \
               select * from ({recent}) r order by occurred_at desc, seq desc limit $4), \
             sample as ( \
               select * from recent order by occurred_at desc, seq desc limit $5), \
             grouped as ( \
               select grouping(event_type, action_result, related, user_agent, source) as set, \
                      event_type, action_result, related, user_agent, source, count(*) as n, \
                      count(*) filter (where action_result = 'failure') as failures, \
                      min(occurred_at) as first_seen, max(occurred_at) as last_seen \
               from sample \
               group by grouping sets ((event_type, action_result), (related), (user_agent), \
                                       (source), ())), \
             ranked as ( \
               select *, row_number() over (partition by set \
                                            order by n desc, related, user_agent, source) as rank \
               from grouped \
               where set in ({BY_OUTCOME}, {TOTAL}) \
                  or coalesce(related, user_agent, source) is not null) \
             select set, event_type, action_result, related, user_agent, source, n, failures, \
                    first_seen, last_seen, (select count(*) from recent) > $5 as more \
             from ranked where set in ({BY_OUTCOME}, {TOTAL}) or rank <= $6 \
             order by set, n desc, event_type, action_result"
        );
        let mut tx = self.budgeted().await?;
        let rows = sqlx::query_as(&sql)
            .bind(entity_value(entity))
            .bind(since)
            .bind(until)
            .bind(cap.saturating_add(1))
            .bind(cap)
            .bind(VALUES_SHOWN)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// A read-only transaction whose statements stop at `PROFILE_BUDGET`, without JIT (the
    /// plans are small; compiling one costs more than running it).
    pub(super) async fn budgeted(&self) -> Result<Transaction<'static, Postgres>, StorageError> {
        let mut tx = self.pool.begin().await?;
        // `local`: the connection's next user has its own settings back.
        sqlx::query(&format!(
            "set local statement_timeout = {}",
            PROFILE_BUDGET.as_millis()
        ))
        .execute(&mut *tx)
        .await?;
        sqlx::query("set local jit = off").execute(&mut *tx).await?;
        sqlx::query("set transaction read only")
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }
}

/// The entity as the queries bind it: the user as given, the address as text cast to `inet`.
fn entity_value(entity: &Entity) -> String {
    entity.to_string()
}

fn outcome(event_type: Option<String>, result: Option<String>, count: i64) -> Option<OutcomeCount> {
    Some(OutcomeCount {
        event_type: event_type?,
        result: result?.parse::<ActionResult>().ok()?,
        count,
    })
}
