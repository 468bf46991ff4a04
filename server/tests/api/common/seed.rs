//! What tests start from besides a fresh database: a schema as an older Vigil left it, and
//! alerts as the detection engine commits them.

use vigil_wire::AlertSeverity;

use super::TestApp;

/// Runs the migrations numbered below `before`, as an older Vigil did (same files, so the
/// migrator later sees them as applied).
pub async fn migrate_below(url: &str, before: &str) {
    let dir = tempfile::tempdir().unwrap();
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations");
    for entry in std::fs::read_dir(source).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_owned();
        if name.to_str().unwrap() < before {
            std::fs::copy(&path, dir.path().join(name)).unwrap();
        }
    }
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url)
        .await
        .unwrap();
    sqlx::migrate::Migrator::new(dir.path())
        .await
        .unwrap()
        .run(&mut conn)
        .await
        .unwrap();
    sqlx::Connection::close(conn).await.unwrap();
}

/// Raises one alert per `(key, severity, title)`, as the engine commits them; returns their ids.
pub async fn raise_alerts(app: &TestApp, alerts: &[(&str, AlertSeverity, &str)]) -> Vec<i64> {
    let store = vigil_server::storage::EventStore::new(app.database.pool.clone());
    let now = chrono::Utc::now();
    let judgement = vigil_server::storage::alerts::Judgement {
        opened: alerts
            .iter()
            .map(
                |(key, severity, title)| vigil_server::storage::alerts::NewAlert {
                    rule_id: "brute-force-ip".into(),
                    title: (*title).into(),
                    severity: *severity,
                    group_key: (*key).into(),
                    first_seen: now - chrono::Duration::minutes(1),
                    last_seen: now,
                    seqs: vec![1, 2],
                    evidence_filter: format!("type=auth.login.failure&{key}"),
                },
            )
            .collect(),
        matched: Vec::new(),
        through_seq: 0,
    };
    // Without an expected cursor the engine's is left alone, as `vigil detect --since` does.
    let committed = store
        .commit_judgement(&judgement, None)
        .await
        .unwrap()
        .expect("committed");
    committed.changed.iter().map(|a| a.id).collect()
}
