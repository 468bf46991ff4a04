//! Test harness: one embedded PostgreSQL cluster for the test binary (vigil's own embedded-cluster
//! code), a fresh database per test, and the real app on port 0.

pub mod live;
mod seed;
pub mod watchdog;

pub use seed::{migrate_below, raise_alerts};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use uuid::Uuid;
use vigil_server::auth::hash_password;
use vigil_server::config::ServeArgs;
use vigil_server::database::{create_database_if_missing, login_pool, Database, ServingPools};
use vigil_server::embedded_pg::EmbeddedPostgres;
use vigil_server::http::Application;
use vigil_server::live::LiveHub;
use vigil_server::storage::{KeyKind, KeyStore, OperatorStore, Role};

/// Creates a key the way `vigil keys create` does.
pub async fn create_key(database: &Database, name: &str, kind: KeyKind) -> String {
    let key = vigil_server::auth::generate_key();
    KeyStore::new(database.pool.clone())
        .create(name, kind, &vigil_server::auth::hash_key(&key))
        .await
        .expect("create key");
    key
}

static CLUSTER: Mutex<Option<EmbeddedPostgres>> = Mutex::new(None);
static CLUSTER_URL: OnceLock<String> = OnceLock::new();

extern "C" {
    fn atexit(callback: extern "C" fn()) -> i32;
}

/// Releases the cluster when the test binary exits (statics are never dropped); it is stopped
/// unless another test binary still uses it.
extern "C" fn release_cluster() {
    if let Ok(mut cluster) = CLUSTER.lock() {
        drop(cluster.take());
    }
}

/// URL of the shared test cluster's `postgres` database, for `database`.
fn cluster_url(database: &str) -> String {
    let template = CLUSTER_URL.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("vigil-test-db");
        let cluster = EmbeddedPostgres::start(&dir).expect("the test PostgreSQL cluster starts");
        drop_earlier_runs_databases(&cluster.url("postgres"));
        let url = cluster.url("vigil_test_db_placeholder");
        *CLUSTER.lock().unwrap() = Some(cluster);
        // SAFETY: registering a plain extern "C" function with libc's atexit has no preconditions.
        unsafe { atexit(release_cluster) };
        url
    });
    template.replace("vigil_test_db_placeholder", database)
}

/// The shared cluster's last log lines: what the database said when a request was refused.
fn cluster_log_tail() -> String {
    const LINES: usize = 30;
    let log =
        (CLUSTER.lock().ok()).and_then(|cluster| cluster.as_ref().map(EmbeddedPostgres::log_file));
    let Some(text) = log.and_then(|log| std::fs::read_to_string(log).ok()) else {
        return "(no cluster log)".to_owned();
    };
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(LINES)..].join("\n")
}

/// The app's warnings and errors go to the test's captured output, so a failing test shows
/// why the server refused (a 503 alone does not say which connection failed, or how).
fn capture_server_warnings() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(tracing_subscriber::EnvFilter::new("vigil_server=warn"))
            .try_init();
    });
}

/// The cluster outlives test runs, and so would every test's database (gigabytes after a few
/// runs): those of earlier runs, that nobody is connected to, are dropped at the first test.
fn drop_earlier_runs_databases(admin_url: &str) {
    let admin_url = admin_url.to_owned();
    let dropping = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the cleanup");
        runtime.block_on(async move {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&admin_url).await?;
            let stale: Vec<String> = sqlx::query_scalar(
                "select datname from pg_database d where datname ~ '^test_[0-9a-f]{32}$' \
                 and not exists (select from pg_stat_activity a where a.datname = d.datname)",
            )
            .fetch_all(&mut conn)
            .await?;
            for name in stale {
                // Names matched the pattern above: no quoting needed beyond the identifier's.
                sqlx::raw_sql(&format!("drop database if exists \"{name}\""))
                    .execute(&mut conn)
                    .await?;
            }
            Ok::<_, sqlx::Error>(())
        })
    });
    if let Ok(Err(err)) = dropping.join() {
        eprintln!("could not drop earlier runs' test databases: {err}");
    }
}

/// Polls `check` until it yields, for at most 30 s: for work the app does in the background.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A brand-new, migrated database of this test's own.
pub async fn fresh_database() -> Database {
    Database::connect(&bare_database_url().await)
        .await
        .expect("connect to test database")
}

/// The URL of a brand-new database with nothing in it, not even Vigil's schema.
pub async fn bare_database_url() -> String {
    let name = format!("test_{}", Uuid::now_v7().simple());
    let admin_url = tokio::task::spawn_blocking(|| cluster_url("postgres"))
        .await
        .unwrap();
    watchdog::watch(Some((&admin_url, &name)));
    create_database_if_missing(&admin_url, &name)
        .await
        .expect("create test database");
    cluster_url(&name)
}

/// The login every test app serves under, as the embedded default's `vigil_serving`: a member
/// of `vigil_app` only, so every test also shows the app needs no more.
pub const SERVING_LOGIN: (&str, &str) = ("vigil_test_serving", "TestServingLogin0123456789");

/// What `vigil serve` holds on the embedded default: the serving login's pool, and the owner's
/// for retention.
pub async fn serving_pools(database: &Database) -> ServingPools {
    let serving = login_pool(&database.pool, SERVING_LOGIN.0, SERVING_LOGIN.1)
        .await
        .expect("the serving login connects");
    ServingPools {
        serving,
        owner: Some(database.pool.clone()),
    }
}

/// A cluster of one test's own, for tests that stop and start the database under a running app.
pub struct OwnCluster {
    dir: PathBuf,
    handle: Option<EmbeddedPostgres>,
}

impl OwnCluster {
    fn open(name: &str) -> Self {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("own-cluster-{name}"));
        let mut cluster = OwnCluster { dir, handle: None };
        cluster.start();
        cluster
    }

    pub fn url(&self, database: &str) -> String {
        self.handle
            .as_ref()
            .expect("cluster is running")
            .url(database)
    }

    pub fn stop(&mut self) {
        self.handle
            .take()
            .expect("cluster is running")
            .stop()
            .expect("cluster stops");
    }

    /// Starts it again; it comes back on the same port, as a restarted server would.
    pub fn start(&mut self) {
        self.handle = Some(EmbeddedPostgres::start(&self.dir).expect("own cluster starts"));
    }
}

/// A second server process, as far as the database can tell.
pub struct Instance {
    pub addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Instance {
    /// Shuts it down gracefully (live streams closed) and waits until it stopped listening.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.serving.await.unwrap().unwrap();
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub database: Database,
    pub http: reqwest::Client,
    /// An ingest key named `test-producer`.
    pub key: String,
    /// The app's live hub.
    pub hub: LiveHub,
    /// Where the keyless `/metrics` listens, when `--metrics-addr` was given.
    pub metrics_addr: Option<SocketAddr>,
}

/// The operator every test app has.
pub const OPERATOR: (&str, &str) = ("analyst", "analyst-password");

impl TestApp {
    /// Starts the real application on port 0 against a fresh database.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Starts the app with adjusted settings.
    pub async fn spawn_with(adjust: impl FnOnce(&mut ServeArgs)) -> TestApp {
        let mut args = ServeArgs::on("127.0.0.1:0".parse().unwrap());
        adjust(&mut args);
        Self::start(fresh_database().await, args).await
    }

    /// Like `spawn`, on a cluster the test may stop and restart.
    pub async fn spawn_on_own_cluster(name: &str) -> (TestApp, OwnCluster) {
        let name = name.to_owned();
        let cluster = tokio::task::spawn_blocking(move || OwnCluster::open(&name))
            .await
            .unwrap();
        let db = format!("test_{}", Uuid::now_v7().simple());
        watchdog::watch(Some((&cluster.url("postgres"), &db)));
        create_database_if_missing(&cluster.url("postgres"), &db)
            .await
            .expect("create database");
        let database = Database::connect(&cluster.url(&db)).await.expect("connect");
        (
            Self::start(database, ServeArgs::on("127.0.0.1:0".parse().unwrap())).await,
            cluster,
        )
    }

    async fn start(database: Database, args: ServeArgs) -> TestApp {
        capture_server_warnings();
        let app = Application::build(&args, serving_pools(&database).await)
            .await
            .expect("bind port 0");
        let addr = app.local_addr();
        let hub = app.hub();
        let metrics_addr = app.metrics_addr();
        tokio::spawn(app.run_until(std::future::pending()));
        let key = create_key(&database, "test-producer", KeyKind::Ingest).await;
        let operators = OperatorStore::new(database.pool.clone());
        operators
            .create(OPERATOR.0, &hash_password(OPERATOR.1), Role::Admin)
            .await
            .expect("create operator");
        TestApp {
            addr,
            database,
            http: reqwest::Client::new(),
            key,
            hub,
            metrics_addr,
        }
    }

    /// Another `vigil serve` on the same database (its own writer, hub and feed), listening on
    /// `addr` (port 0 for any).
    pub async fn instance(&self, addr: SocketAddr) -> Instance {
        let app = Application::build(&ServeArgs::on(addr), serving_pools(&self.database).await)
            .await
            .expect("bind the second instance");
        let addr = app.local_addr();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        Instance {
            addr,
            stop,
            serving,
        }
    }

    /// A browser-like client (cookie jar) signed in as `OPERATOR`.
    pub async fn signed_in(&self) -> reqwest::Client {
        self.sign_in_as(OPERATOR.0, OPERATOR.1)
            .await
            .expect("the test operator signs in")
    }

    /// Signs in; `None` if the dashboard refused.
    pub async fn sign_in_as(&self, username: &str, password: &str) -> Option<reqwest::Client> {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = client
            .post(self.url("/auth/login"))
            .form(&[
                ("username", username),
                ("password", password),
                ("next", "/"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        (location == "/").then_some(client)
    }

    /// Signs `OPERATOR` in from Vigil's own origin and returns the session cookie's `name=value`,
    /// for raw requests and WebSockets.
    pub async fn session_cookie(&self) -> String {
        let response = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(self.url("/auth/login"))
            .header("origin", self.url(""))
            .form(&[("username", OPERATOR.0), ("password", OPERATOR.1)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["location"], "/");
        let cookie = response.headers()["set-cookie"].to_str().unwrap();
        cookie.split(';').next().unwrap().to_owned()
    }

    pub fn keys(&self) -> KeyStore {
        KeyStore::new(self.database.pool.clone())
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn post_json(&self, body: &serde_json::Value) -> reqwest::Response {
        self.post_raw(body.to_string(), "application/json").await
    }

    pub async fn post_raw(
        &self,
        body: impl Into<reqwest::Body>,
        content_type: &str,
    ) -> reqwest::Response {
        self.post_with_key(body, content_type, Some(&self.key))
            .await
    }

    pub async fn post_with_key(
        &self,
        body: impl Into<reqwest::Body>,
        content_type: &str,
        key: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .post(self.url("/api/v1/events"))
            .header("content-type", content_type);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request
            .body(body)
            .send()
            .await
            .expect("request reaches the server")
    }

    /// Posts and expects a 201; returns the receipts.
    pub async fn ingest(&self, body: &serde_json::Value) -> Vec<serde_json::Value> {
        let response = self.post_json(body).await;
        let status = response.status();
        let text = response.text().await.unwrap();
        if status.is_server_error() {
            panic!(
                "ingest refused ({status}): {text}\nthe database's log:\n{}",
                cluster_log_tail()
            );
        }
        assert_eq!(status, 201, "ingest refused: {text}");
        let body: serde_json::Value = serde_json::from_str(&text).unwrap();
        body["events"].as_array().expect("an events list").clone()
    }

    pub async fn event_count(&self) -> i64 {
        sqlx::query_scalar("select count(*) from events")
            .fetch_one(&self.database.pool)
            .await
            .unwrap()
    }
}
