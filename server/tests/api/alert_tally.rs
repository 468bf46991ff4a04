//! The top bar's count of alerts not closed and their worst severity come from a tally that
//! triggers keep: after every kind of change, and across the upgrade that added it, the tally
//! says what `count(*)` over the alerts says.

use crate::common;
use common::{raise_alerts, TestApp};

use sqlx::PgPool;
use vigil_server::database::Database;
use vigil_server::storage::EventStore;
use vigil_wire::{AlertSeverity, AlertStatus};

/// Opens (or, for a key already open, adds a match to) one alert per `(key, severity)`.
async fn raise(app: &TestApp, alerts: &[(&str, AlertSeverity)]) -> Vec<i64> {
    let titled: Vec<_> = (alerts.iter())
        .map(|(key, severity)| (*key, *severity, *key))
        .collect();
    raise_alerts(app, &titled).await
}

/// `(open, worst)` as the top bar shows them, and as counted from the alerts themselves.
async fn both_counts(
    store: &EventStore,
    pool: &PgPool,
) -> ((i64, Option<AlertSeverity>), (i64, Option<AlertSeverity>)) {
    let summary = store.alert_summary().await.unwrap();
    let (open, worst): (i64, Option<String>) = sqlx::query_as(
        "select count(*), (array['low','medium','high','critical'])[max(array_position( \
                array['low','medium','high','critical'], severity))] \
         from alerts where status <> 'closed'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    (
        (summary.open, summary.worst),
        (open, worst.as_deref().and_then(AlertSeverity::parse)),
    )
}

#[tokio::test]
async fn the_tally_follows_openings_matches_acknowledgements_and_closings() {
    let app = TestApp::spawn().await;
    let store = EventStore::new(app.database.pool.clone());
    let pool = &app.database.pool;
    let expect = |step: &str,
                  counts: ((i64, Option<AlertSeverity>), (i64, Option<AlertSeverity>)),
                  want: (i64, Option<AlertSeverity>)| {
        assert_eq!(counts.1, want, "{step}: the alerts themselves");
        assert_eq!(counts.0, want, "{step}: the tally");
    };
    expect("none yet", both_counts(&store, pool).await, (0, None));

    use AlertSeverity::{Critical, High, Low};
    let ids = raise(
        &app,
        &[
            ("ip=a", Low),
            ("ip=b", High),
            ("ip=c", Critical),
            ("ip=d", Critical),
        ],
    )
    .await;
    expect(
        "four opened",
        both_counts(&store, pool).await,
        (4, Some(Critical)),
    );

    // Matches for keys already open update those alerts: still four.
    raise(&app, &[("ip=a", Low), ("ip=c", Critical)]).await;
    expect(
        "matches added",
        both_counts(&store, pool).await,
        (4, Some(Critical)),
    );

    let change = |id: i64, to: AlertStatus| {
        let store = store.clone();
        async move {
            store
                .change_alert_status(id, to, "analyst", None)
                .await
                .unwrap()
        }
    };
    change(ids[2], AlertStatus::Acknowledged).await;
    expect(
        "one acknowledged",
        both_counts(&store, pool).await,
        (4, Some(Critical)),
    );
    change(ids[2], AlertStatus::Closed).await;
    change(ids[3], AlertStatus::Closed).await;
    expect(
        "the criticals closed",
        both_counts(&store, pool).await,
        (2, Some(High)),
    );
    change(ids[1], AlertStatus::Closed).await;
    expect(
        "the high closed",
        both_counts(&store, pool).await,
        (1, Some(Low)),
    );

    // A key whose alert was closed opens a new one.
    raise(&app, &[("ip=c", Critical)]).await;
    expect(
        "reopened by a match",
        both_counts(&store, pool).await,
        (2, Some(Critical)),
    );

    // Only the owner may empty the table (the serving role may not): the tally follows.
    sqlx::query("truncate alerts cascade")
        .execute(pool)
        .await
        .unwrap();
    expect("emptied", both_counts(&store, pool).await, (0, None));
}

#[tokio::test]
async fn alerts_raised_before_the_tally_existed_are_counted_by_the_upgrade() {
    let url = common::bare_database_url().await;
    common::migrate_below(&url, "0017").await;
    let pool = PgPool::connect(&url).await.unwrap();
    sqlx::raw_sql(
        "insert into alerts (change_seq, rule_id, title, severity, status, group_key, first_seen, \
            last_seen, event_count, evidence_filter, evidence_seqs) \
         select g, 'brute-force-ip', 'old', s, st, 'ip=' || g, now(), now(), 1, '', '{}' \
         from generate_series(1, 6) g, \
              lateral (select (array['low','high','critical'])[1 + g % 3] as s, \
                              (array['open','acknowledged','closed'])[1 + g / 3 % 3] as st) v",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let database = Database::connect(&url).await.expect("the upgrade applies");
    let store = EventStore::new(database.pool.clone());
    let (tally, counted) = both_counts(&store, &database.pool).await;
    assert!(
        counted.0 > 0 && counted.0 < 6,
        "the seed mixes statuses: {counted:?}"
    );
    assert_eq!(tally, counted);
}
