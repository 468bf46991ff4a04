//! Test harness: one embedded PostgreSQL cluster per test binary (vigil's own embedded-cluster
//! code), a fresh database per test, and the real app on port 0.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use uuid::Uuid;
use vigil_server::config::ServeArgs;
use vigil_server::database::{create_database_if_missing, Database};
use vigil_server::embedded_pg::EmbeddedPostgres;
use vigil_server::startup::Application;
use vigil_server::storage::EventStore;

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
        let url = cluster.url("vigil_test_db_placeholder");
        *CLUSTER.lock().unwrap() = Some(cluster);
        // SAFETY: registering a plain extern "C" function with libc's atexit has no preconditions.
        unsafe { atexit(release_cluster) };
        url
    });
    template.replace("vigil_test_db_placeholder", database)
}

/// A brand-new, migrated database of this test's own.
pub async fn fresh_database() -> Database {
    let name = format!("test_{}", Uuid::now_v7().simple());
    let admin_url = tokio::task::spawn_blocking(|| cluster_url("postgres"))
        .await
        .unwrap();
    create_database_if_missing(&admin_url, &name)
        .await
        .expect("create test database");
    Database::connect(&cluster_url(&name))
        .await
        .expect("connect to test database")
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub database: Database,
    pub http: reqwest::Client,
}

impl TestApp {
    /// Starts the real application on port 0 against a fresh database.
    pub async fn spawn() -> TestApp {
        let database = fresh_database().await;
        let args = ServeArgs {
            addr: "127.0.0.1:0".parse().unwrap(),
            site_root: PathBuf::from("target/site"),
        };
        let app = Application::build(&args, EventStore::new(database.pool.clone()))
            .await
            .expect("bind port 0");
        let addr = app.local_addr();
        tokio::spawn(app.run_until(std::future::pending()));
        TestApp {
            addr,
            database,
            http: reqwest::Client::new(),
        }
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
        self.http
            .post(self.url("/api/v1/events"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request reaches the server")
    }

    pub async fn event_count(&self) -> i64 {
        sqlx::query_scalar("select count(*) from events")
            .fetch_one(&self.database.pool)
            .await
            .unwrap()
    }
}
