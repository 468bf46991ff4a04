//! Entity pages (issue 20): a user's or address's profile counts what `count(*)` over its rows
//! counts (a user by user_id or username, IPv4 and IPv6, neighbours in the /24 or /48 only,
//! the range's bounds), says when it counted only the newest events, and the pages render for
//! a signed-in viewer only, every value as text.

use crate::common;

mod named_alerts;
mod pages;

use chrono::{DateTime, Duration, DurationRound, Utc};
use common::TestApp;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use vigil_server::storage::{EventStore, KeyKind, ProfileCaps};
use vigil_wire::{Entity, EntityProfile, SeenValue};

/// value → (count, failures, first, last).
type Seen = BTreeMap<String, (i64, i64, DateTime<Utc>, DateTime<Utc>)>;
/// value, count, failures, first, last.
type SeenRow = (String, i64, i64, DateTime<Utc>, DateTime<Utc>);

/// Whole seconds, so times printed into JSON come back equal.
pub fn now() -> DateTime<Utc> {
    Utc::now().duration_trunc(Duration::seconds(1)).unwrap()
}

pub fn at(t: DateTime<Utc>) -> String {
    t.to_rfc3339()
}

pub fn store(app: &TestApp) -> EventStore {
    EventStore::new(app.database.pool.clone())
}

/// What `count(*)` says about the rows `matching` (SQL over `$1`) in `[since, until)`.
struct Expected {
    outcomes: BTreeMap<(String, String), i64>,
    related: Seen,
    user_agents: Seen,
    sources: Seen,
    total: i64,
    first_last: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
}

async fn expected(
    app: &TestApp,
    matching: &str,
    value: &str,
    related: &str,
    (since, until): (DateTime<Utc>, DateTime<Utc>),
) -> Expected {
    let pool = &app.database.pool;
    let range = format!("{matching} and occurred_at >= $2 and occurred_at < $3");
    let outcomes: Vec<(String, String, i64)> = sqlx::query_as(&format!(
        "select event_type, action_result, count(*) from events where {range} group by 1, 2"
    ))
    .bind(value)
    .bind(since)
    .bind(until)
    .fetch_all(pool)
    .await
    .unwrap();
    let seen = |column: String| {
        let sql = format!(
            "select {column}, count(*), count(*) filter (where action_result = 'failure'), \
             min(occurred_at), max(occurred_at) from events \
             where {range} and {column} is not null group by 1"
        );
        async move {
            let rows: Vec<SeenRow> = sqlx::query_as(&sql)
                .bind(value)
                .bind(since)
                .bind(until)
                .fetch_all(pool)
                .await
                .unwrap();
            (rows.into_iter())
                .map(|(v, n, f, first, last)| (v, (n, f, first, last)))
                .collect::<Seen>()
        }
    };
    let total: i64 = sqlx::query_scalar(&format!("select count(*) from events where {range}"))
        .bind(value)
        .bind(since)
        .bind(until)
        .fetch_one(pool)
        .await
        .unwrap();
    let first_last = sqlx::query_as(&format!(
        "select min(occurred_at), max(occurred_at) from events where {matching}"
    ))
    .bind(value)
    .fetch_one(pool)
    .await
    .unwrap();
    Expected {
        outcomes: (outcomes.into_iter())
            .map(|(t, r, n)| ((t, r), n))
            .collect(),
        related: seen(related.to_owned()).await,
        user_agents: seen("user_agent".to_owned()).await,
        sources: seen("source".to_owned()).await,
        total,
        first_last,
    }
}

fn seen_map(values: &[SeenValue]) -> Seen {
    (values.iter())
        .map(|v| {
            (
                v.value.clone(),
                (v.count, v.failures, v.first_seen, v.last_seen),
            )
        })
        .collect()
}

fn assert_matches(profile: &EntityProfile, expected: &Expected) {
    let outcomes: BTreeMap<(String, String), i64> = (profile.outcomes.iter())
        .map(|o| {
            (
                (o.event_type.clone(), o.result.as_str().to_owned()),
                o.count,
            )
        })
        .collect();
    assert_eq!(outcomes, expected.outcomes, "counts by type and result");
    assert_eq!(seen_map(&profile.related), expected.related, "related");
    assert_eq!(
        seen_map(&profile.user_agents),
        expected.user_agents,
        "user agents"
    );
    assert_eq!(seen_map(&profile.sources), expected.sources, "sources");
    assert_eq!(profile.counted, expected.total);
    assert!(!profile.partial);
    assert_eq!(
        (profile.first_seen, profile.last_seen),
        expected.first_last,
        "first and last seen, all time"
    );
}

/// A user known by id and name, from two addresses and two producers, with events before, at
/// and after the range's bounds; others that share neither.
async fn seed_user(app: &TestApp, since: DateTime<Utc>, until: DateTime<Utc>) {
    let other = common::create_key(&app.database, "other-producer", KeyKind::Ingest).await;
    let ev = |kind: &str, t: DateTime<Utc>, extra: Value| {
        let mut event = json!({"event_type": kind, "occurred_at": at(t), "user_agent": "curl/8"});
        event
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        event
    };
    let both = json!({"user_id": "u-7", "username": "alice", "ip_address": "10.1.2.3"});
    let by_id = json!({"user_id": "u-7", "ip_address": "10.9.9.9", "user_agent": "Firefox"});
    let by_name = json!({"username": "alice"});
    app.ingest(&json!([
        ev(
            "auth.login.failure",
            since - Duration::seconds(1),
            both.clone()
        ),
        ev("auth.login.failure", since, both.clone()),
        ev(
            "auth.login.failure",
            since + Duration::minutes(5),
            both.clone()
        ),
        ev(
            "auth.login.success",
            since + Duration::minutes(6),
            both.clone()
        ),
        ev(
            "auth.token.issued",
            since + Duration::minutes(7),
            by_id.clone()
        ),
        ev(
            "auth.mfa.challenge_failure",
            until - Duration::seconds(1),
            by_name.clone()
        ),
        ev("auth.login.success", until, both.clone()),
        ev(
            "auth.login.failure",
            since + Duration::minutes(8),
            json!({"username": "alice2", "ip_address": "10.1.2.3"})
        ),
        ev(
            "auth.login.failure",
            since + Duration::minutes(9),
            json!({"user_id": "alice "})
        ),
        // Both columns name it: counted once.
        ev(
            "auth.login.success",
            since + Duration::minutes(11),
            json!({"user_id": "same", "username": "same"})
        ),
    ]))
    .await;
    let response = app
        .post_with_key(
            ev("auth.logout", since + Duration::minutes(10), by_id).to_string(),
            "application/json",
            Some(&other),
        )
        .await;
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn a_users_profile_counts_what_count_star_counts_by_id_and_by_name() {
    let app = TestApp::spawn().await;
    let until = now() - Duration::hours(1);
    let since = until - Duration::hours(2);
    seed_user(&app, since, until).await;
    let matching = "(user_id = $1 or username = $1)";
    for user in ["alice", "u-7", "same"] {
        let profile = store(&app)
            .entity_profile(
                &Entity::User(user.into()),
                since,
                until,
                ProfileCaps::DASHBOARD,
            )
            .await
            .unwrap();
        let expected = expected(&app, matching, user, "host(ip_address)", (since, until)).await;
        assert_matches(&profile, &expected);
    }
    // Spelled out, so a wrong `expected` cannot hide a wrong profile.
    let profile = |user: &str| {
        let store = store(&app);
        let entity = Entity::User(user.into());
        async move {
            (store
                .entity_profile(&entity, since, until, ProfileCaps::DASHBOARD)
                .await)
                .unwrap()
        }
    };
    let alice = profile("alice").await;
    assert_eq!(alice.counted, 4, "since is inside the range, until is not");
    let values = |seen: &[SeenValue]| seen.iter().map(|s| s.value.clone()).collect::<Vec<_>>();
    assert_eq!(values(&alice.related), ["10.1.2.3"]);
    assert_eq!(values(&alice.sources), ["test-producer"]);
    assert_eq!(alice.first_seen, Some(since - Duration::seconds(1)));
    assert_eq!(alice.last_seen, Some(until));
    assert!(alice.neighbours.is_none(), "users have no neighbours");
    assert_eq!(
        profile("same").await.counted,
        1,
        "one event in both columns"
    );
    let by_id = profile("u-7").await;
    assert_eq!(by_id.counted, 5);
    assert_eq!(
        values(&by_id.related),
        ["10.1.2.3", "10.9.9.9"],
        "busiest first"
    );
    assert_eq!(values(&by_id.sources), ["test-producer", "other-producer"]);

    let nobody = store(&app)
        .entity_profile(
            &Entity::User("nobody".into()),
            since,
            until,
            ProfileCaps::DASHBOARD,
        )
        .await
        .unwrap();
    assert_eq!((nobody.counted, nobody.first_seen), (0, None));
    assert!(nobody.outcomes.is_empty() && nobody.related.is_empty());
}

#[tokio::test]
async fn more_events_than_the_cap_count_the_newest_and_say_so() {
    let app = TestApp::spawn().await;
    let until = now();
    let since = until - Duration::hours(1);
    let events: Vec<Value> = (0..5)
        .map(|i| {
            let kind = if i < 2 {
                "auth.login.success"
            } else {
                "auth.login.failure"
            };
            json!({"event_type": kind, "username": "busy", "ip_address": format!("10.0.0.{i}"),
                   "occurred_at": at(since + Duration::minutes(i))})
        })
        .collect();
    app.ingest(&Value::Array(events)).await;
    let caps = ProfileCaps {
        events: 3,
        ..ProfileCaps::DASHBOARD
    };
    let profile = store(&app)
        .entity_profile(&Entity::User("busy".into()), since, until, caps)
        .await
        .unwrap();
    assert!(profile.partial);
    assert_eq!((profile.counted, profile.cap), (3, 3));
    assert_eq!(
        profile.outcomes.iter().map(|o| o.count).sum::<i64>(),
        3,
        "only the newest three are counted"
    );
    let mut addresses: Vec<&str> = profile.related.iter().map(|r| r.value.as_str()).collect();
    addresses.sort();
    assert_eq!(
        addresses,
        ["10.0.0.2", "10.0.0.3", "10.0.0.4"],
        "the newest three"
    );
    let exact = ProfileCaps {
        events: 5,
        ..ProfileCaps::DASHBOARD
    };
    let all = store(&app)
        .entity_profile(&Entity::User("busy".into()), since, until, exact)
        .await
        .unwrap();
    assert!(!all.partial, "exactly the cap is not partial");
    assert_eq!(all.counted, 5);
}

/// Events from `ip` at minutes `0..count` after `since`, every other one a failure.
pub fn from(ip: &str, user: &str, since: DateTime<Utc>, count: i64) -> Vec<Value> {
    (0..count)
        .map(|i| {
            let kind = if i % 2 == 0 { "auth.login.failure" } else { "auth.login.success" };
            json!({"event_type": kind, "username": format!("{user}{}", i % 2), "ip_address": ip,
                   "occurred_at": at(since + Duration::minutes(i)), "user_agent": "python-requests"})
        })
        .collect()
}

#[tokio::test]
async fn an_address_profile_counts_its_users_and_its_own_network_only() {
    let app = TestApp::spawn().await;
    let until = now();
    let since = until - Duration::hours(2);
    let mut events = Vec::new();
    for (ip, n) in [
        ("203.0.113.7", 5),
        ("203.0.113.8", 3),
        ("203.0.113.200", 2),
        ("203.0.114.1", 4),
        ("2001:db8:bad::17", 4),
        ("2001:db8:bad:4::2", 3),
        ("2001:db8:bae::1", 2),
    ] {
        events.extend(from(ip, "victim", since, n));
    }
    // Out of range: counted in first seen, not in the panels.
    events.push(
        json!({"event_type": "auth.login.failure", "ip_address": "203.0.113.7",
                       "occurred_at": at(since - Duration::minutes(1))}),
    );
    events.push(
        json!({"event_type": "auth.login.failure", "ip_address": "203.0.113.9",
                       "occurred_at": at(since - Duration::minutes(1))}),
    );
    app.ingest(&Value::Array(events)).await;

    let cases = [
        (
            "203.0.113.7",
            [("203.0.113.8", 3, 2), ("203.0.113.200", 2, 1)],
        ),
        (
            "2001:db8:bad::17",
            [("2001:db8:bad:4::2", 3, 2), ("", 0, 0)],
        ),
    ];
    for (ip, neighbours) in cases {
        let entity = Entity::ip(ip).unwrap();
        let profile = store(&app)
            .entity_profile(&entity, since, until, ProfileCaps::DASHBOARD)
            .await
            .unwrap();
        let expected = expected(
            &app,
            "ip_address = $1::inet",
            ip,
            "coalesce(username, user_id)",
            (since, until),
        )
        .await;
        assert_matches(&profile, &expected);
        assert_eq!(
            profile
                .related
                .iter()
                .map(|r| r.value.as_str())
                .collect::<Vec<_>>(),
            ["victim0", "victim1"]
        );
        let found = profile.neighbours.expect("an address has neighbours");
        assert!(!found.partial);
        let got: Vec<(&str, i64, i64)> = (found.addresses.iter())
            .map(|a| (a.value.as_str(), a.count, a.failures))
            .collect();
        let want: Vec<(&str, i64, i64)> = neighbours.into_iter().filter(|n| n.1 > 0).collect();
        assert_eq!(
            got, want,
            "{ip}: its /24 or /48, itself and anything in range left out"
        );
        for neighbour in &found.addresses {
            let (count, first): (i64, DateTime<Utc>) = sqlx::query_as(
                "select count(*), min(occurred_at) from events where ip_address = $1::inet \
                 and occurred_at >= $2 and occurred_at < $3",
            )
            .bind(&neighbour.value)
            .bind(since)
            .bind(until)
            .fetch_one(&app.database.pool)
            .await
            .unwrap();
            assert_eq!((neighbour.count, neighbour.first_seen), (count, first));
        }
    }
    let v4 = store(&app)
        .entity_profile(
            &Entity::ip("203.0.113.7").unwrap(),
            since,
            until,
            ProfileCaps::DASHBOARD,
        )
        .await
        .unwrap();
    assert_eq!(v4.neighbours.unwrap().network, "203.0.113.0/24");
    let capped = ProfileCaps {
        events: 100,
        neighbour_events: 2,
        neighbour_addresses: 1,
    };
    let partial = store(&app)
        .entity_profile(&Entity::ip("203.0.113.7").unwrap(), since, until, capped)
        .await
        .unwrap()
        .neighbours
        .unwrap();
    assert!(partial.partial, "more addresses and events than the caps");
    assert!(partial.addresses.len() <= 1 && partial.addresses.iter().all(|a| a.count <= 2));
}
