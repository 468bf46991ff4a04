//! The tamper-evident chain: `verify` holds over what ingest stored and names the first seq an
//! outside edit changed or removed; the log refuses updates and deletes.

use crate::common;

use common::TestApp;
use serde_json::{json, Value};
use vigil_server::storage::{EventStore, KeyKind};

/// Three batches and a single event: 31 chained events.
async fn app_with_events() -> TestApp {
    let app = TestApp::spawn().await;
    for batch in 0..3 {
        let events: Vec<Value> = (0..10)
            .map(|i| json!({"event_type": "auth.login.failure", "username": format!("u{batch}-{i}"),
                           "ip_address": "198.51.100.7", "event_data": {"attempt": i, "z": 1, "a": [true]}}))
            .collect();
        app.ingest(&Value::Array(events)).await;
    }
    app.ingest(&json!({"event_type": "auth.mfa.enabled", "user_id": "u-1", "occurred_at": "2026-01-02T03:04:05.123456789Z"}))
        .await;
    app
}

fn store(app: &TestApp) -> EventStore {
    EventStore::new(app.database.pool.clone())
}

/// Runs `sql` with triggers off, as a superuser tampering with the table would.
async fn tamper(app: &TestApp, sql: &str) {
    let mut tx = app.database.pool.begin().await.unwrap();
    sqlx::query("set local session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(sql).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn verify_holds_over_ingested_events_and_names_an_edited_row() {
    let app = app_with_events().await;
    let held = store(&app).verify_chain(None).await.unwrap();
    assert_eq!(held.first_bad_seq, None);
    assert_eq!((held.from_seq, held.through_seq), (0, 31));

    tamper(
        &app,
        "update events set username = 'mallory' where seq = 17",
    )
    .await;
    let broken = store(&app).verify_chain(None).await.unwrap();
    assert_eq!(broken.first_bad_seq, Some(17));
    assert_eq!(broken.through_seq, 16);

    // Verifying from a later checkpoint (a trusted stored link) skips the damage.
    let later = store(&app).verify_chain(Some(20)).await.unwrap();
    assert_eq!((later.first_bad_seq, later.through_seq), (None, 31));
}

#[tokio::test]
async fn verify_names_a_deleted_row_and_a_cut_off_tail() {
    let app = app_with_events().await;
    tamper(&app, "delete from events where seq = 5").await;
    assert_eq!(
        store(&app).verify_chain(None).await.unwrap().first_bad_seq,
        Some(5)
    );

    let app = app_with_events().await;
    tamper(&app, "delete from events where seq >= 30").await;
    assert_eq!(
        store(&app).verify_chain(None).await.unwrap().first_bad_seq,
        Some(30)
    );
}

#[tokio::test]
async fn the_log_refuses_updates_deletes_and_truncation() {
    let app = app_with_events().await;
    for sql in [
        "update events set username = 'mallory' where seq = 3",
        "delete from events where seq = 3",
        "truncate events",
    ] {
        let err = sqlx::query(sql)
            .execute(&app.database.pool)
            .await
            .expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(app.event_count().await, 31);
}

#[tokio::test]
async fn the_chain_endpoint_reports_the_head_and_the_last_verification() {
    let app = app_with_events().await;
    let read_key = common::create_key(&app.database, "auditor", KeyKind::Read).await;
    let get = || async {
        let response = app
            .http
            .get(app.url("/api/v1/chain"))
            .bearer_auth(&read_key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.unwrap()
    };
    let status = get().await;
    assert_eq!(status["seq"], 31);
    let head_hash = status["hash"].as_str().unwrap().to_owned();
    assert_eq!(head_hash.len(), 64);
    assert!(status["last_verification"].is_null());

    tamper(&app, "update events set event_data = '{}' where seq = 2").await;
    store(&app).verify_chain(None).await.unwrap();
    let status = get().await;
    assert_eq!(status["last_verification"]["first_bad_seq"], 2);
    assert_eq!(
        status["hash"],
        head_hash.as_str(),
        "the head itself did not move"
    );

    let anonymous = app.http.get(app.url("/api/v1/chain")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn duplicates_are_not_chained_twice() {
    let app = TestApp::spawn().await;
    let id = uuid::Uuid::now_v7();
    let event = json!({"event_type": "auth.logout", "event_id": id});
    let first = app.ingest(&json!([event, event])).await;
    let again = app.ingest(&event).await;
    assert_eq!(first[0]["duplicate"], false);
    assert_eq!(first[1]["duplicate"], true);
    assert_eq!(again[0]["duplicate"], true);
    assert_eq!(again[0]["seq"], first[0]["seq"]);
    let after = app.ingest(&json!({"event_type": "auth.logout"})).await;
    assert_eq!(after[0]["seq"], 2, "seqs stay gapless after duplicates");
    let held = store(&app).verify_chain(None).await.unwrap();
    assert_eq!((held.first_bad_seq, held.through_seq), (None, 2));
}

#[tokio::test]
async fn the_serving_role_can_append_and_read_but_never_change_or_remove() {
    let app = app_with_events().await; // appended through the app, i.e. as the serving role
    let serving = vigil_server::database::set_role_pool(&app.database.pool)
        .await
        .unwrap();
    let role: String = sqlx::query_scalar("select current_user")
        .fetch_one(&serving)
        .await
        .unwrap();
    assert_eq!(role, vigil_server::database::SERVING_ROLE);
    let partition = vigil_server::storage::partitions::Partition::of(chrono::Utc::now()).name;
    for sql in [
        "update events set username = 'mallory' where seq = 3".to_owned(),
        "delete from events where seq = 3".to_owned(),
        "truncate events".to_owned(),
        "set session_replication_role = replica".to_owned(),
        "alter table events disable trigger events_append_only".to_owned(),
        format!("alter table events detach partition {partition}"),
        format!("drop table {partition}"),
        "update chain_checkpoints set seq = 0".to_owned(),
    ] {
        let err = sqlx::query(&sql).execute(&serving).await.expect_err(&sql);
        let message = err.to_string();
        assert!(
            message.contains("permission denied") || message.contains("must be owner"),
            "{sql}: {message}"
        );
    }
    assert_eq!(app.event_count().await, 31);
    let verified = EventStore::new(serving).verify_chain(None).await.unwrap();
    assert_eq!((verified.first_bad_seq, verified.through_seq), (None, 31));
}

/// The writer numbers each append from where its last one left the chain. When another writer
/// (here a bulk load; in production another instance) moved the head meanwhile, the append's
/// statement changes nothing and it is numbered again from the new head: no fork, no gap, and
/// the live stream still carries every event once, in seq order.
#[tokio::test]
async fn a_writer_whose_head_moved_numbers_again_from_the_new_head() {
    let app = TestApp::spawn().await;
    let mut socket = common::live::follow(&app, "").await.unwrap();
    assert_eq!(
        common::live::next_json(&mut socket).await["kind"],
        "heartbeat"
    );
    let first = app
        .ingest(&json!({"event_type": "auth.login.success", "username": "writer-1"}))
        .await;
    assert_eq!(first[0]["seq"], 1);

    let bulk = vigil_server::events::parse_event(
        json!({"event_type": "auth.logout", "username": "bulk"}),
        "bulk-load",
    )
    .unwrap();
    store(&app)
        .append_bulk(&[(bulk, chrono::Utc::now())])
        .await
        .unwrap();

    let second = app
        .ingest(&json!({"event_type": "auth.login.failure", "username": "writer-2"}))
        .await;
    assert_eq!(
        second[0]["seq"], 3,
        "numbered after the bulk load, not over it"
    );
    let held = store(&app).verify_chain(None).await.unwrap();
    assert_eq!((held.first_bad_seq, held.through_seq), (None, 3));
    assert_eq!(common::live::next_seqs(&mut socket, 3).await, vec![1, 2, 3]);
    let usernames: Vec<String> = sqlx::query_scalar("select username from events order by seq")
        .fetch_all(&app.database.pool)
        .await
        .unwrap();
    assert_eq!(usernames, ["writer-1", "bulk", "writer-2"]);
}
