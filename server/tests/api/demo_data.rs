//! `vigil demo-data`'s generator on a fresh database: the exact count inside the time range, a
//! realistic mix, failures concentrated on the attacking addresses, and one outcome per seed.

use crate::common;

use chrono::{DateTime, Duration, Timelike, Utc};
use ipnetwork::IpNetwork;
use sqlx::PgPool;
use std::collections::HashSet;
use std::net::IpAddr;
use vigil_server::cli::demo_data::{generate, DemoOptions, ATTACKERS, SOURCE};
use vigil_server::storage::EventStore;
use vigil_wire::EventFilter;

fn options(events: u64, seed: u64) -> DemoOptions {
    DemoOptions {
        events,
        days: 7,
        seed,
        end: "2026-03-01T12:00:00Z".parse().unwrap(),
    }
}

async fn demo(events: u64, seed: u64) -> PgPool {
    let database = common::fresh_database().await;
    let summary = generate(
        &EventStore::new(database.pool.clone()),
        options(events, seed),
    )
    .await
    .expect("demo data is generated");
    assert_eq!(summary.inserted, events);
    database.pool
}

async fn scalar(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[tokio::test]
async fn demo_data_is_a_realistic_mix_with_attacks_on_top() {
    let pool = demo(20_000, 7).await;
    let attackers: HashSet<IpAddr> = ATTACKERS.iter().map(|a| a.parse().unwrap()).collect();

    assert_eq!(scalar(&pool, "select count(*) from events").await, 20_000);
    // Bulk loads go through the chain like ingest: it holds over every copied row.
    let verified = EventStore::new(pool.clone())
        .verify_chain(None)
        .await
        .unwrap();
    assert_eq!(
        (verified.first_bad_seq, verified.through_seq),
        (None, 20_000)
    );
    let sources: Vec<String> = sqlx::query_scalar("select distinct source from events")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(sources, [SOURCE]);

    let (first, last): (DateTime<Utc>, DateTime<Utc>) =
        sqlx::query_as("select min(occurred_at), max(occurred_at) from events")
            .fetch_one(&pool)
            .await
            .unwrap();
    let end = options(0, 0).end;
    assert!(
        first >= end - Duration::days(7) && last <= end,
        "{first} .. {last}"
    );
    assert!(last - first > Duration::days(6), "spread over the range");

    assert!(scalar(&pool, "select count(distinct category) from events").await >= 6);
    assert!(scalar(&pool, "select count(distinct event_type) from events").await >= 15);
    assert!(scalar(&pool, "select count(distinct username) from events").await > 5_000);
    assert!(
        scalar(
            &pool,
            "select count(*) from events where family(ip_address) = 6"
        )
        .await
            > 500
    );
    assert!(
        scalar(
            &pool,
            "select count(distinct session_fingerprint) from events"
        )
        .await
            > 1_000
    );

    // The seven addresses with the most failed sign-ins are exactly the attackers, they do
    // nothing else, and they account for most failed sign-ins.
    let top: Vec<(IpNetwork, i64)> = sqlx::query_as(
        "select ip_address, count(*) from events where event_type = 'auth.login.failure' \
         group by ip_address order by count(*) desc limit 7",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let top_ips: HashSet<IpAddr> = top.iter().map(|(ip, _)| ip.ip()).collect();
    assert_eq!(top_ips, attackers, "{top:?}");
    let from_attackers: Vec<(IpNetwork, String, i64, i64)> = sqlx::query_as(
        "select ip_address, event_type, count(*), count(distinct username) from events \
         where ip_address <<= '203.0.113.0/24' or ip_address <<= '2001:db8:bad::/48' \
         group by 1, 2",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(from_attackers
        .iter()
        .all(|(_, t, _, _)| t == "auth.login.failure"));
    let attack_failures: i64 = from_attackers.iter().map(|(_, _, n, _)| n).sum();
    let failures = scalar(
        &pool,
        "select count(*) from events where event_type = 'auth.login.failure'",
    )
    .await;
    assert!(
        attack_failures * 2 > failures,
        "{attack_failures} of {failures}"
    );
    assert!(
        from_attackers.iter().any(|(_, _, _, names)| *names > 100),
        "credential stuffing tries many names"
    );
    let hammered = scalar(
        &pool,
        "select max(n) from (select count(*) as n from events \
         where ip_address <<= '203.0.113.0/24' or ip_address <<= '2001:db8:bad::/48' \
         group by ip_address, username) as per_account",
    )
    .await;
    assert!(
        hammered >= 20,
        "brute force hammers one account ({hammered})"
    );

    // Busier in the afternoon (UTC) than at night.
    let hours: Vec<DateTime<Utc>> = sqlx::query_scalar("select occurred_at from events")
        .fetch_all(&pool)
        .await
        .unwrap();
    let afternoon = hours
        .iter()
        .filter(|t| (12..16).contains(&t.hour()))
        .count();
    let night = hours.iter().filter(|t| t.hour() < 4).count();
    assert!(afternoon > night * 2, "{afternoon} vs {night}");

    // Every row reads back through the query layer (enum columns and types are valid).
    let page = EventStore::new(pool.clone())
        .find(&EventFilter::default(), None, 500)
        .await
        .unwrap();
    assert_eq!(page.events.len(), 500);
    assert!(page
        .events
        .windows(2)
        .all(|w| w[0].occurred_at >= w[1].occurred_at));
}

#[tokio::test]
async fn the_same_seed_gives_the_same_traffic() {
    const SQL: &str = "select event_type, username, host(ip_address), occurred_at, \
        session_fingerprint, event_data::text from events order by seq";
    type Row = (
        String,
        Option<String>,
        Option<String>,
        DateTime<Utc>,
        Option<String>,
        String,
    );
    let rows = |pool: PgPool| async move {
        sqlx::query_as::<_, Row>(SQL)
            .fetch_all(&pool)
            .await
            .unwrap()
    };
    let first = rows(demo(3_000, 11).await).await;
    let again = rows(demo(3_000, 11).await).await;
    let other = rows(demo(3_000, 12).await).await;
    assert_eq!(first, again);
    assert_ne!(first, other);
    assert!(
        first.windows(2).all(|w| w[0].3 <= w[1].3),
        "rows are stored in time order, so seq follows time"
    );
}

/// The built-in detection pack over a week of demo traffic: every attacker is caught, and the
/// only alerts on ordinary users are the MFA removals `mfa-disabled` exists to report.
#[tokio::test]
async fn the_built_in_rules_catch_every_demo_attacker_and_no_ordinary_user() {
    use vigil_server::detect::{history::judge_history, rules_file};
    let pool = demo(100_000, 11).await;
    let store = EventStore::new(pool.clone());
    let since: DateTime<Utc> = "2026-02-20T00:00:00Z".parse().unwrap();
    let run = judge_history(&store, rules_file::defaults(), since, false)
        .await
        .unwrap();
    for attacker in ATTACKERS {
        for rule in ["brute-force-ip", "password-spraying"] {
            assert!(
                (run.opened.iter())
                    .any(|a| a.rule_id == rule && a.group_key == format!("ip={attacker}")),
                "{rule} missed {attacker}"
            );
        }
    }
    let attackers: Vec<IpAddr> = ATTACKERS.iter().map(|a| a.parse().unwrap()).collect();
    let mut on_ordinary_users = 0;
    for alert in run.opened.iter().filter(|a| a.rule_id != "mfa-disabled") {
        // Every event behind the alert came from an attacker.
        let from: Vec<Option<IpNetwork>> =
            sqlx::query_scalar("select ip_address from events where seq = any($1)")
                .bind(&alert.seqs)
                .fetch_all(&pool)
                .await
                .unwrap();
        if !from
            .iter()
            .all(|ip| ip.is_some_and(|ip| attackers.contains(&ip.ip())))
        {
            on_ordinary_users += 1;
        }
    }
    assert_eq!(
        on_ordinary_users, 0,
        "false positives among {:?}",
        run.opened
    );
    let mfa_disabled = (run.opened.iter())
        .filter(|a| a.rule_id == "mfa-disabled")
        .count() as i64;
    let disabled = scalar(
        &pool,
        "select count(distinct username) from events where event_type = 'auth.mfa.disabled'",
    )
    .await;
    assert_eq!(
        mfa_disabled, disabled,
        "one alert per account that turned MFA off"
    );
}
