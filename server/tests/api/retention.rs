//! Retention: monthly partitions created ahead of time and dropped whole as the (injected) clock
//! moves, with the chain still verifiable across a drop.

use crate::common;

use chrono::{DateTime, Duration, Months, Utc};
use serde_json::json;
use vigil_server::storage::partitions::Partition;
use vigil_server::storage::EventStore;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

async fn store_received_at(store: &EventStore, received: &str) {
    let event = vigil_server::events::parse_event(
        json!({"event_type": "auth.login.failure", "username": received}),
        "retention-test",
    )
    .unwrap();
    store.append_bulk(&[(event, at(received))]).await.unwrap();
}

async fn names(store: &EventStore) -> Vec<String> {
    store
        .partitions()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect()
}

/// Runs retention with `cutoff`; the names of the months it dropped.
async fn dropped_names(store: &EventStore, cutoff: DateTime<Utc>) -> Vec<String> {
    let dropped = store.drop_partitions_before(cutoff).await.unwrap();
    dropped.into_iter().map(|p| p.name).collect()
}

#[tokio::test]
async fn a_fresh_database_has_this_month_and_the_next_two() {
    let database = common::fresh_database().await;
    let store = EventStore::new(database.pool.clone());
    let names = names(&store).await;
    let now = Utc::now();
    for month in [now, now + Months::new(1), now + Months::new(2)] {
        assert!(names.contains(&Partition::of(month).name), "{names:?}");
    }
}

#[tokio::test]
async fn expired_months_are_dropped_whole_and_the_chain_still_verifies() {
    let database = common::fresh_database().await;
    let store = EventStore::new(database.pool.clone());
    // The clock is injected: for this test it is mid-June 2026.
    let now = at("2026-06-15T12:00:00Z");
    let created = store
        .ensure_partitions(at("2026-03-01T00:00:00Z"), now)
        .await
        .unwrap();
    assert!(!created.is_empty());
    for received in [
        "2026-03-10T10:00:00Z",
        "2026-03-20T10:00:00Z",
        "2026-04-10T10:00:00Z",
        "2026-06-10T10:00:00Z",
    ] {
        store_received_at(&store, received).await;
    }
    let before = names(&store).await;
    for month in [
        "events_2026_03",
        "events_2026_04",
        "events_2026_05",
        "events_2026_06",
    ] {
        assert!(before.contains(&month.to_owned()), "{before:?}");
    }

    // Keeping 45 days puts the cutoff in May: March and April end before it and go.
    assert_eq!(
        dropped_names(&store, now - Duration::days(45)).await,
        ["events_2026_03", "events_2026_04"]
    );
    let after = names(&store).await;
    assert!(!after.contains(&"events_2026_04".to_owned()));
    assert!(after.contains(&"events_2026_05".to_owned()));
    let left: i64 = sqlx::query_scalar("select count(*) from events")
        .fetch_one(&database.pool)
        .await
        .unwrap();
    assert_eq!(left, 1, "only June's event is left");

    // The drop left a checkpoint at April's event, so the chain verifies from there.
    let verified = store.verify_chain(None).await.unwrap();
    assert_eq!(
        (
            verified.first_bad_seq,
            verified.from_seq,
            verified.through_seq
        ),
        (None, 3, 4)
    );
    // Nothing more to drop at the same time; new events chain on.
    assert!(store
        .drop_partitions_before(now - Duration::days(45))
        .await
        .unwrap()
        .is_empty());
    store_received_at(&store, "2026-06-11T10:00:00Z").await;
    let verified = store.verify_chain(None).await.unwrap();
    assert_eq!((verified.first_bad_seq, verified.through_seq), (None, 5));
}

/// A run that stopped after detaching a month but before dropping it (a crash) left a table that
/// is no longer a partition; the next run drops it, and the chain still verifies. A month an
/// operator detached (an archive, a legal hold) is left alone.
#[tokio::test]
async fn a_month_left_detached_by_an_interrupted_run_is_dropped_by_the_next() {
    let database = common::fresh_database().await;
    let store = EventStore::new(database.pool.clone());
    let now = at("2026-06-15T12:00:00Z");
    store
        .ensure_partitions(at("2026-03-01T00:00:00Z"), now)
        .await
        .unwrap();
    for received in ["2026-03-10T10:00:00Z", "2026-04-10T10:00:00Z"] {
        store_received_at(&store, received).await;
    }
    // March as retention leaves it when stopped between the detach and the drop; April as an
    // operator detaches it.
    sqlx::raw_sql(
        "comment on table events_2026_03 is 'vigil retention: detaching, then dropping'; \
         alter table events detach partition events_2026_03; \
         alter table events detach partition events_2026_04",
    )
    .execute(&database.pool)
    .await
    .unwrap();
    let exists = |name: &'static str| {
        let pool = database.pool.clone();
        async move {
            sqlx::query_scalar::<_, bool>("select to_regclass($1) is not null")
                .bind(name)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert!(exists("events_2026_03").await, "detached, not dropped");
    assert!(!names(&store).await.contains(&"events_2026_03".to_owned()));

    assert_eq!(
        dropped_names(&store, now - Duration::days(45)).await,
        ["events_2026_03"]
    );
    assert!(
        !exists("events_2026_03").await,
        "the leftover month is gone"
    );
    assert!(exists("events_2026_04").await, "the operator's month stays");
    // March's drop left a checkpoint; April's event was taken out of the log by hand, and
    // `verify` says so.
    store_received_at(&store, "2026-06-11T10:00:00Z").await;
    let verified = store.verify_chain(None).await.unwrap();
    assert_eq!(verified.first_bad_seq, Some(2));
}
