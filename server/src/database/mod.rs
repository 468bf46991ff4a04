//! Opening Vigil's database: the server named by DATABASE_URL, or the embedded cluster in the
//! data directory; either way migrated before anything else touches it.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::DatabaseArgs;
use crate::embedded_pg::{EmbeddedPgError, EmbeddedPostgres};

mod serving;
pub use serving::{
    connect_app, ensure_login, login_pool, set_role_pool, ServingPools, EMBEDDED_LOGIN,
    SERVING_ROLE,
};

/// Vigil's schema, compiled in: every start applies what a database lacks.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// The newest migration this binary carries: `/readyz` waits for the database to have it.
pub fn latest_migration() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

/// The database every embedded cluster holds Vigil's tables in.
const EMBEDDED_DATABASE: &str = "vigil";

#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error(transparent)]
    Embedded(#[from] EmbeddedPgError),
    #[error("invalid DATABASE_URL: {0}")]
    BadUrl(sqlx::Error),
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(sqlx::Error),
    #[error("migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("embedded PostgreSQL task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[error(
        "the database's schema is at migration {have} and this vigil needs {need}: run \
         `vigil migrate` with the owner's DATABASE_URL first"
    )]
    Schema { have: i64, need: i64 },
    #[error(
        "the serving login `{login}` {why}; --app-database-url needs a login that is only a \
         member of vigil_app (see README, \"Serving without the owner's credential\")"
    )]
    ServingLogin { login: String, why: String },
    #[error("{0}")]
    LoginName(String),
}

/// A migrated pool, plus the embedded cluster it runs on (if any), kept alive as long as this is.
pub struct Database {
    pub pool: PgPool,
    /// Shared with the supervisor, which only ever holds it for a moment (`Weak`).
    cluster: Option<Arc<EmbeddedPostgres>>,
}

/// How often the supervisor looks at the embedded postmaster.
const SUPERVISE_EVERY: Duration = Duration::from_secs(1);
/// Restarts closer together than this count as repeated crashes, and back off.
const CRASH_LOOP_WINDOW: Duration = Duration::from_secs(60);
/// The longest wait between restarts of a cluster that keeps crashing.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

impl Database {
    /// DATABASE_URL when set, else the embedded cluster in `--data-dir`.
    pub async fn open(args: &DatabaseArgs) -> Result<Self, DatabaseError> {
        match &args.database_url {
            Some(url) => Self::connect(url).await,
            None => Self::open_embedded(args).await,
        }
    }

    async fn open_embedded(args: &DatabaseArgs) -> Result<Self, DatabaseError> {
        let data_dir = args.data_dir.clone();
        let cluster =
            tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&data_dir)).await??;
        create_database_if_missing(&cluster.url("postgres"), EMBEDDED_DATABASE).await?;
        let mut database = Self::connect(&cluster.url(EMBEDDED_DATABASE)).await?;
        database.cluster = Some(Arc::new(cluster));
        Ok(database)
    }

    /// Connects to an existing database and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Self, DatabaseError> {
        let pool = pool_options()
            .connect_with(connect_options(url)?)
            .await
            .map_err(DatabaseError::Connect)?;
        MIGRATOR.run(&pool).await?;
        Ok(Database {
            pool,
            cluster: None,
        })
    }

    /// The connections `vigil serve` works through. The embedded cluster's generated login
    /// `vigil_serving` (a member of `vigil_app` only); on a server named by DATABASE_URL, the
    /// owner's login with `SET ROLE vigil_app`, because the owner's credential is there anyway
    /// (`--app-database-url` is the way to serve without it). Either way the owner's pool is
    /// kept for retention.
    pub async fn serving_pools(&self) -> Result<ServingPools, DatabaseError> {
        let serving = match &self.cluster {
            Some(cluster) => {
                let cluster = cluster.clone();
                let password =
                    tokio::task::spawn_blocking(move || cluster.serving_password()).await??;
                serving::login_pool(&self.pool, serving::EMBEDDED_LOGIN, &password).await?
            }
            None => serving::set_role_pool(&self.pool)
                .await
                .map_err(DatabaseError::Connect)?,
        };
        Ok(ServingPools {
            serving,
            owner: Some(self.pool.clone()),
        })
    }

    /// Whether this is vigil's own cluster (rather than a server named by DATABASE_URL).
    pub fn is_embedded(&self) -> bool {
        self.cluster.is_some()
    }

    /// Closes the pool, then releases the embedded cluster (stopping it if nobody else uses it).
    pub async fn close(self) -> Result<(), DatabaseError> {
        self.pool.close().await;
        if let Some(cluster) = self.cluster {
            // The supervisor may hold it this instant; then the last of the two to let go stops it.
            if let Ok(cluster) = Arc::try_unwrap(cluster) {
                tokio::task::spawn_blocking(move || cluster.stop()).await??;
            }
        }
        Ok(())
    }

    /// For the embedded cluster: a task that notices within a second when its postmaster has
    /// died (the OOM killer, `kill -9`), restarts it on the same port and says so in the log.
    /// Repeated crashes back off, doubling the wait up to a minute. Ends with the `Database`.
    pub fn supervise(&self) -> Option<impl std::future::Future<Output = ()> + Send + 'static> {
        let cluster = Arc::downgrade(self.cluster.as_ref()?);
        Some(async move {
            let mut backoff = SUPERVISE_EVERY;
            let mut last_restart: Option<Instant> = None;
            loop {
                tokio::time::sleep(backoff).await;
                let Some(held) = cluster.upgrade() else {
                    return;
                };
                let revived = tokio::task::spawn_blocking(move || {
                    // Only look first: reviving takes the start lock.
                    match held.is_running() {
                        Ok(true) => Ok(false),
                        _ => {
                            tracing::error!(
                                "the embedded PostgreSQL is not running; restarting it"
                            );
                            held.revive()
                        }
                    }
                })
                .await;
                match revived {
                    Ok(Ok(false)) => {
                        if last_restart.is_some_and(|at| at.elapsed() > CRASH_LOOP_WINDOW) {
                            backoff = SUPERVISE_EVERY;
                        }
                    }
                    Ok(Ok(true)) => {
                        tracing::warn!(
                            "restarted the embedded PostgreSQL after it stopped; its crash \
                             recovery keeps every committed event, and Vigil serves again"
                        );
                        if last_restart.is_some_and(|at| at.elapsed() < CRASH_LOOP_WINDOW) {
                            backoff = (backoff * 2).min(MAX_BACKOFF);
                        }
                        last_restart = Some(Instant::now());
                    }
                    Ok(Err(err)) => {
                        tracing::error!(%err, "could not restart the embedded PostgreSQL; retrying in {:?}", backoff * 2);
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                    Err(err) => tracing::error!(%err, "the PostgreSQL supervisor's check failed"),
                }
            }
        })
    }
}

/// How Vigil connects to PostgreSQL, whoever it connects as.
fn connect_options(url: &str) -> Result<PgConnectOptions, DatabaseError> {
    Ok(PgConnectOptions::from_str(url)
        .map_err(DatabaseError::BadUrl)?
        // A 201 promises durability: never let a server default weaken the commit.
        .options([("synchronous_commit", "on")])
        // Compiling a plan cost the 7-day top-IPs query 2.1 s of its 2.9 s at 10 M events;
        // the dashboard's queries are short, so JIT never pays for itself here.
        .options([("jit", "off")])
        .log_statements(tracing::log::LevelFilter::Debug))
}

fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(16)
        // Fail fast when the database is gone: callers answer 503 instead of hanging. Not
        // faster than 3 s: on a loaded 2-core machine opening a burst of connections took
        // over 1 s, and healthy requests got 503s.
        .acquire_timeout(Duration::from_secs(3))
}

/// `CREATE DATABASE` cannot take parameters; `name` is always one of our own constants or a
/// generated test name, never user input.
pub async fn create_database_if_missing(server_url: &str, name: &str) -> Result<(), DatabaseError> {
    let mut conn = sqlx::PgConnection::connect(server_url)
        .await
        .map_err(DatabaseError::Connect)?;
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(name)
            .fetch_one(&mut conn)
            .await
            .map_err(DatabaseError::Connect)?;
    if !exists {
        sqlx::query(&format!("create database \"{name}\""))
            .execute(&mut conn)
            .await
            .map_err(DatabaseError::Connect)?;
    }
    Ok(())
}
