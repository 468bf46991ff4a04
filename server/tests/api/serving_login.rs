//! Serving without the owner's credential: the serving login can append and read events but
//! change none by any route; `--app-database-url` serves with no owner at all; `vigil migrate`
//! makes that login; the embedded default serves under one it generated.

use sqlx::Connection;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use uuid::Uuid;
use vigil_server::config::{DatabaseArgs, ServeArgs};
use vigil_server::database::{connect_app, Database, DatabaseError, ServingPools};
use vigil_server::http::Application;
use vigil_server::storage::{EventStore, KeyKind};

use crate::cli::fresh_data_dir;
use crate::common::{self, TestApp, SERVING_LOGIN};

const VIGIL: &str = env!("CARGO_BIN_EXE_vigil");

/// Runs `sql` on one connection of the serving login (so `RESET ROLE` and a following
/// statement share a session) and returns PostgreSQL's refusal.
async fn refused(serving: &sqlx::PgPool, sql: &str) -> String {
    let mut conn = serving.acquire().await.unwrap();
    let err = sqlx::raw_sql(sql).execute(&mut *conn).await.expect_err(sql);
    err.to_string()
}

#[tokio::test]
async fn the_serving_login_cannot_change_or_remove_an_event_by_any_route() {
    let app = TestApp::spawn().await;
    for n in 0..5 {
        app.ingest(
            &serde_json::json!({"event_type": "auth.login.failure", "username": format!("u{n}")}),
        )
        .await;
    }
    let serving = common::serving_pools(&app.database).await.serving;
    let (session, current): (String, String) =
        sqlx::query_as("select session_user::text, current_user::text")
            .fetch_one(&serving)
            .await
            .unwrap();
    assert_eq!(
        (session.as_str(), current.as_str()),
        (SERVING_LOGIN.0, "vigil_app")
    );

    let partition = vigil_server::storage::partitions::Partition::of(chrono::Utc::now()).name;
    let denied = [
        "permission denied",
        "must be owner",
        "must be superuser",
        "must be a member",
    ];
    for sql in [
        "update events set username = 'mallory' where seq = 3".to_owned(),
        "delete from events where seq = 3".to_owned(),
        "truncate events".to_owned(),
        // Back to the login itself: it has no more rights than vigil_app.
        "reset role; update events set username = 'mallory' where seq = 3".to_owned(),
        "reset role; delete from events where seq = 3".to_owned(),
        "set role vigil; delete from events".to_owned(),
        "set session_replication_role = replica".to_owned(),
        "reset role; set session_replication_role = replica".to_owned(),
        "alter table events disable trigger events_append_only".to_owned(),
        "reset role; alter table events disable trigger all".to_owned(),
        "copy events to program 'true'".to_owned(),
        "reset role; copy (select 1) to program 'true'".to_owned(),
        "copy events from '/etc/hostname'".to_owned(),
        format!("alter table events detach partition {partition}"),
        format!("drop table {partition}"),
        "update chain_checkpoints set seq = 0".to_owned(),
        "insert into chain_checkpoints (seq, hash, reason) values (0, '\\x00', 'x')".to_owned(),
        "update api_keys set revoked_at = null".to_owned(),
        format!("alter role {} superuser", SERVING_LOGIN.0),
        "create role mallory superuser login".to_owned(),
        // The owner's functions that would recount or rewrite are the owner's alone.
        "select count_events(0, 5)".to_owned(),
        "select rebuild_failure_windows()".to_owned(),
        "select failure_window_bounds()".to_owned(),
    ] {
        let message = refused(&serving, &sql).await;
        assert!(
            denied.iter().any(|d| message.contains(d)),
            "{sql}: {message}"
        );
    }
    // The one owner's function it may call does one bounded thing.
    for month in ["2026-12-15", "9999-01-01", "1900-01-01"] {
        let message = refused(
            &serving,
            &format!("select create_month_partitions('{month}')"),
        )
        .await;
        assert!(
            message.contains("first day of a month") || message.contains("out of range"),
            "{month}: {message}"
        );
    }
    assert_eq!(app.event_count().await, 5);
    let verified = EventStore::new(serving).verify_chain(None).await.unwrap();
    assert_eq!((verified.first_bad_seq, verified.through_seq), (None, 5));
}

/// A fresh database with the schema, a serving login made the way `vigil migrate --app-login`
/// makes it, and that login's URL. The login is dropped by `drop_login`.
async fn database_with_login() -> (Database, String, String) {
    let owner_url = common::bare_database_url().await;
    let database = Database::connect(&owner_url).await.unwrap();
    let login = format!("test_app_{}", &Uuid::now_v7().simple().to_string()[20..]);
    let password = "AppLoginPassword0123456789";
    vigil_server::database::ensure_login(&database.pool, &login, password)
        .await
        .unwrap();
    let app_url = owner_url.replacen(
        &format!("{}:", database.pool.connect_options().get_username()),
        &format!("{login}:"),
        1,
    );
    let app_url = replace_password(&app_url, password);
    (database, login, app_url)
}

/// `postgres://user:secret@host/db` with another secret.
fn replace_password(url: &str, password: &str) -> String {
    let (scheme_user, rest) = url.split_once("://").unwrap();
    let (credentials, host) = rest.split_once('@').unwrap();
    let user = credentials.split(':').next().unwrap();
    format!("{scheme_user}://{user}:{password}@{host}")
}

async fn drop_login(database: &Database, login: &str) {
    sqlx::raw_sql(&format!("drop role if exists \"{login}\""))
        .execute(&database.pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn serving_under_the_app_url_holds_no_owner_and_still_does_its_routine_work() {
    let (database, login, app_url) = database_with_login().await;
    let serving = connect_app(&app_url)
        .await
        .expect("the app login may serve");
    let pools = ServingPools {
        serving: serving.clone(),
        owner: None,
    };
    // Retention drops months: asking for it without the owner is refused at start.
    let mut with_retention = ServeArgs::on("127.0.0.1:0".parse().unwrap());
    with_retention.retention_days = Some(30);
    let err = Application::build(&with_retention, pools.clone())
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("vigil migrate --retention-days"),
        "{err}"
    );

    let app = Application::build(&ServeArgs::on("127.0.0.1:0".parse().unwrap()), pools)
        .await
        .unwrap();
    let addr = app.local_addr();
    tokio::spawn(app.run_until(std::future::pending()));
    let key = common::create_key(&database, "producer", KeyKind::Ingest).await;
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/api/v1/events"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"event_type": "auth.logout", "username": "dave"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    // The month after the ones made ahead, through the owner's function.
    let store = EventStore::with_owner(serving.clone(), None);
    let later = chrono::Utc::now() + chrono::Months::new(6);
    let created = store.ensure_partitions(later, later).await.unwrap();
    assert_eq!(created.len(), 1, "the serving login created a month ahead");
    // Dropping this month (a cutoff ahead of it) is the owner's.
    let err = store.drop_partitions_before(later).await.err().unwrap();
    assert!(
        matches!(err, vigil_server::storage::StorageError::NotOwner),
        "{err}"
    );
    assert!(
        store.partitions().await.unwrap().len() >= 4,
        "nothing was dropped"
    );
    drop_login(&database, &login).await;
}

#[tokio::test]
async fn the_app_url_refuses_an_owner_a_stranger_and_a_stale_schema() {
    let (database, login, app_url) = database_with_login().await;
    let owner_url = common::bare_database_url().await;
    let err = connect_app(&owner_url).await.err().unwrap();
    assert!(
        matches!(&err, DatabaseError::ServingLogin { why, .. } if why.contains("superuser")),
        "{err}"
    );
    // A login that is not a member of vigil_app.
    sqlx::raw_sql(&format!("revoke vigil_app from \"{login}\""))
        .execute(&database.pool)
        .await
        .unwrap();
    let err = connect_app(&app_url).await.err().unwrap();
    assert!(
        err.to_string().contains("not a member of vigil_app"),
        "{err}"
    );
    sqlx::raw_sql(&format!("grant vigil_app to \"{login}\""))
        .execute(&database.pool)
        .await
        .unwrap();
    // The same login on a database nobody migrated.
    let bare = common::bare_database_url().await;
    let (_, bare_name) = bare.rsplit_once('/').unwrap();
    let (app_server, _) = app_url.rsplit_once('/').unwrap();
    let err = connect_app(&format!("{app_server}/{bare_name}"))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, DatabaseError::Schema { have: 0, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("vigil migrate"), "{err}");
    drop_login(&database, &login).await;
}

#[tokio::test]
async fn vigil_migrate_makes_the_login_and_serve_runs_on_it_alone() {
    let owner_url = common::bare_database_url().await;
    let data_dir = fresh_data_dir("serving-login-cli");
    let login = format!("test_cli_{}", &Uuid::now_v7().simple().to_string()[20..]);
    let run = |args: Vec<String>, env: Vec<(&'static str, String)>| {
        let mut command = Command::new(VIGIL);
        command
            .args(args)
            .arg("--data-dir")
            .arg(&data_dir)
            .env_remove("DATABASE_URL")
            .env_remove("VIGIL_APP_DATABASE_URL")
            .envs(env)
            .kill_on_drop(true);
        command
    };
    let migrated = run(
        vec!["migrate".into(), "--app-login".into(), login.clone()],
        vec![("DATABASE_URL", owner_url.clone())],
    )
    .output()
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&migrated.stdout);
    assert!(
        migrated.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let version = vigil_server::database::latest_migration();
    assert!(
        stdout.contains(&format!("schema at migration {version}")),
        "{stdout}"
    );
    let app_url = stdout
        .lines()
        .find_map(|l| l.strip_prefix("VIGIL_APP_DATABASE_URL="))
        .expect("the login's URL is printed")
        .to_owned();

    // With the owner's URL beside it, serve refuses to start.
    let both = run(
        vec!["serve".into(), "--addr".into(), "127.0.0.1:0".into()],
        vec![
            ("DATABASE_URL", owner_url.clone()),
            ("VIGIL_APP_DATABASE_URL", app_url.clone()),
        ],
    )
    .output()
    .await
    .unwrap();
    assert!(!both.status.success());
    assert!(String::from_utf8_lossy(&both.stderr).contains("both set"));

    let mut server = run(
        vec!["serve".into(), "--addr".into(), "127.0.0.1:0".into()],
        vec![("VIGIL_APP_DATABASE_URL", app_url)],
    )
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.strip_prefix("Vigil dashboard: ") {
                return url.trim_end_matches('/').to_owned();
            }
        }
        panic!("serve exited before printing its URL");
    })
    .await
    .expect("serve prints its URL");
    let owner = Database::connect(&owner_url).await.unwrap();
    let key = common::create_key(&owner, "producer", KeyKind::Ingest).await;
    assert_eq!(crate::cli::post(&url, &key).await, 201);
    // Whoever else is connected to this database: serve's connections alone.
    owner.pool.close().await;
    let mut alone = sqlx::PgConnection::connect(&owner_url).await.unwrap();
    let who: Vec<String> = sqlx::query_scalar(
        "select distinct usename::text from pg_stat_activity where datname = current_database() \
         and pid <> pg_backend_pid() and usename is not null",
    )
    .fetch_all(&mut alone)
    .await
    .unwrap();
    assert_eq!(
        who,
        vec![login.clone()],
        "serve connects as the app login only"
    );
    crate::cli::terminate(server).await;
    sqlx::raw_sql(&format!("drop role \"{login}\""))
        .execute(&mut alone)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_embedded_default_serves_under_a_generated_login() {
    let data_dir = fresh_data_dir("serving-login-embedded");
    let args = DatabaseArgs {
        data_dir: data_dir.clone(),
        database_url: None,
    };
    let database = Database::open(&args).await.unwrap();
    let pools = database.serving_pools().await.unwrap();
    let (session, superuser): (String, bool) = sqlx::query_as(
        "select session_user::text, rolsuper from pg_roles where rolname = session_user",
    )
    .fetch_one(&pools.serving)
    .await
    .unwrap();
    assert_eq!((session.as_str(), superuser), ("vigil_serving", false));
    let file = data_dir.join("pg-serving-password");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let message = refused(&pools.serving, "reset role; delete from events").await;
    assert!(message.contains("permission denied"), "{message}");
    // A second start finds the login as it left it.
    let again = database.serving_pools().await.unwrap();
    let one: i32 = sqlx::query_scalar("select 1")
        .fetch_one(&again.serving)
        .await
        .unwrap();
    assert_eq!(one, 1);
    pools.serving.close().await;
    again.serving.close().await;
    database.close().await.unwrap();
}
