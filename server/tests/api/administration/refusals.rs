//! Who may not: viewers and the signed-out are refused every admin action by the server (not
//! only by the page), another origin is refused with the session cookie, and the serving login
//! may ask only for the bounded, one-way changes of migrations/0012_administration.sql.

use super::rpc;
use crate::common::{self, TestApp, OPERATOR};
use vigil_server::auth::hash_password;
use vigil_server::storage::{OperatorStore, Role};

/// Every admin action, each aimed at something that exists or would matter.
const ADMIN_ACTIONS: [(&str, &[(&str, &str)]); 5] = [
    ("create_api_key", &[("name", "sneaky"), ("kind", "read")]),
    ("revoke_api_key", &[("name", "test-producer")]),
    (
        "create_operator",
        &[
            ("username", "mallory"),
            ("role", "admin"),
            ("password", "mallory-password"),
        ],
    ),
    ("disable_operator", &[("username", OPERATOR.0)]),
    (
        "reset_operator_password",
        &[("username", OPERATOR.0), ("password", "mallory-password")],
    ),
];

async fn add_viewer(app: &TestApp) -> reqwest::Client {
    OperatorStore::new(app.database.pool.clone())
        .create("vera", &hash_password("viewer-password"), Role::Viewer)
        .await
        .unwrap();
    app.sign_in_as("vera", "viewer-password").await.unwrap()
}

/// The keys and operators as the test app made them, untouched, and nothing recorded.
async fn nothing_changed(app: &TestApp) {
    let keys: Vec<(String, bool)> =
        sqlx::query_as("select name, revoked_at is null from api_keys order by name")
            .fetch_all(&app.database.pool)
            .await
            .unwrap();
    assert_eq!(keys, [("test-producer".to_owned(), true)]);
    let operators: Vec<(String, bool)> =
        sqlx::query_as("select username, disabled_at is null from operators order by username")
            .fetch_all(&app.database.pool)
            .await
            .unwrap();
    assert!(operators
        .iter()
        .all(|(name, enabled)| *enabled && name != "mallory"));
    assert!(
        app.sign_in_as(OPERATOR.0, OPERATOR.1).await.is_some(),
        "password unchanged"
    );
    let recorded: i64 = sqlx::query_scalar(
        "select count(*) from events where source = 'vigil' and event_type not like 'auth.login.%'",
    )
    .fetch_one(&app.database.pool)
    .await
    .unwrap();
    assert_eq!(recorded, 0);
}

#[tokio::test]
async fn viewers_and_the_signed_out_are_refused_every_admin_action() {
    let app = TestApp::spawn().await;
    let viewer = add_viewer(&app).await;
    let anonymous = reqwest::Client::new();
    for (endpoint, form) in ADMIN_ACTIONS {
        let (status, body) = rpc(&viewer, &app, endpoint, form).await;
        assert_eq!(status, 403, "{endpoint}: {body}");
        assert!(body.contains("only admins can"), "{endpoint}: {body}");
        let (status, _) = rpc(&anonymous, &app, endpoint, form).await;
        assert_eq!(status, 401, "{endpoint} without a session");
    }
    let own = [
        ("current_password", OPERATOR.1),
        ("new_password", "mallory-password"),
        ("confirm_password", "mallory-password"),
    ];
    assert_eq!(
        rpc(&anonymous, &app, "change_own_password", &own).await.0,
        401
    );
    nothing_changed(&app).await;

    // The page shows a viewer no form to try with; an admin gets them all.
    let page = |client: reqwest::Client| {
        let url = app.url("/access");
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let seen = page(viewer).await;
    assert!(seen.contains("data-testid=\"access-refused\""), "{seen}");
    let admin_only = [
        "new-key-form",
        "new-operator-form",
        "revoke-key",
        "disable-operator",
    ];
    for form in admin_only {
        assert!(!seen.contains(form), "a viewer sees no {form}");
    }
    let seen = page(app.signed_in().await).await;
    for form in admin_only {
        assert!(
            seen.contains(&format!("data-testid=\"{form}\"")),
            "an admin sees {form}"
        );
    }
}

#[tokio::test]
async fn another_origin_is_refused_every_change_with_the_session_cookie() {
    let app = TestApp::spawn().await;
    let cookie = app.session_cookie().await;
    let own: &[(&str, &str)] = &[
        ("current_password", OPERATOR.1),
        ("new_password", "mallory-password"),
        ("confirm_password", "mallory-password"),
    ];
    let client = reqwest::Client::new();
    for (endpoint, form) in ADMIN_ACTIONS
        .into_iter()
        .chain([("change_own_password", own)])
    {
        for (name, value) in [
            ("origin", "http://evil.example"),
            ("sec-fetch-site", "same-site"),
        ] {
            let response = client
                .post(app.url(&format!("/rpc/{endpoint}")))
                .header("cookie", &cookie)
                .header(name, value)
                .form(form)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 403, "{endpoint} with {name}: {value}");
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["error"], "cross_origin");
        }
    }
    nothing_changed(&app).await;
}

/// Runs `sql` as the serving login; PostgreSQL's refusal.
async fn refused(serving: &sqlx::PgPool, sql: &str) -> String {
    let err = sqlx::raw_sql(sql).execute(serving).await.expect_err(sql);
    err.to_string()
}

async fn asks(serving: &sqlx::PgPool, sql: &str) -> bool {
    sqlx::query_scalar(sql).fetch_one(serving).await.expect(sql)
}

#[tokio::test]
async fn the_serving_login_may_ask_only_for_bounded_one_way_changes() {
    let app = TestApp::spawn().await;
    app.ingest(&serde_json::json!({"event_type": "auth.logout", "username": "dave"}))
        .await;
    let serving = common::serving_pools(&app.database).await.serving;
    let hex = "repeat('a', 64)";
    for sql in [
        format!("insert into api_keys (id, name, kind, key_hash) values (gen_random_uuid(), 'x', 'read', {hex})"),
        "update api_keys set revoked_at = null".to_owned(),
        "delete from api_keys".to_owned(),
        "update operators set disabled_at = null".to_owned(),
        "update operators set password_hash = 'x', role = 'admin'".to_owned(),
        "insert into operators (id, username, password_hash, role) values (gen_random_uuid(), 'm', 'x', 'admin')".to_owned(),
        "reset role; update operators set disabled_at = null".to_owned(),
    ] {
        let message = refused(&serving, &sql).await;
        assert!(message.contains("permission denied"), "{sql}: {message}");
    }
    for (sql, says) in [
        (
            format!("select admin_create_key(gen_random_uuid(), 'ViGiL', 'read', {hex})"),
            "reserved",
        ),
        (
            format!("select admin_create_key(gen_random_uuid(), '', 'read', {hex})"),
            "1 to 64",
        ),
        (
            "select admin_create_key(gen_random_uuid(), 'x', 'read', 'k')".to_owned(),
            "64 hexadecimal",
        ),
        (
            format!("select admin_create_key(gen_random_uuid(), 'x', 'owner', {hex})"),
            "ingest or read",
        ),
        (
            "select admin_create_operator(gen_random_uuid(), 'm', 'plain', 'admin')".to_owned(),
            "argon2",
        ),
        (
            "select admin_create_operator(gen_random_uuid(), 'm', '$argon2id$x', 'root')"
                .to_owned(),
            "viewer or admin",
        ),
        (
            "select admin_set_password('analyst', 'plaintext', null)".to_owned(),
            "argon2",
        ),
    ] {
        let message = refused(&serving, &sql).await;
        assert!(message.contains(says), "{sql}: {message}");
    }
    // One way: a revoked key's name is not made again, a disabled operator stays disabled.
    assert!(asks(&serving, "select admin_revoke_key('test-producer')").await);
    assert!(!asks(&serving, "select admin_revoke_key('test-producer')").await);
    let again =
        format!("select admin_create_key(gen_random_uuid(), 'test-producer', 'ingest', {hex})");
    assert!(!asks(&serving, &again).await, "the name is still taken");
    assert!(asks(&serving, "select admin_disable_operator('analyst')").await);
    let hash = hash_password("a-new-password");
    let revived: bool = sqlx::query_scalar("select admin_set_password('analyst', $1, null)")
        .bind(&hash)
        .fetch_one(&serving)
        .await
        .unwrap();
    assert!(!revived, "no new password for a disabled operator");
    let state: (bool, bool) = sqlx::query_as(
        "select (select revoked_at is not null from api_keys where name = 'test-producer'), \
                (select disabled_at is not null from operators where username = 'analyst')",
    )
    .fetch_one(&app.database.pool)
    .await
    .unwrap();
    assert_eq!(state, (true, true));
    assert_eq!(app.event_count().await, 1, "no function touches an event");
}
