//! Opening Vigil's database: the server named by DATABASE_URL, or the embedded cluster in the
//! data directory; either way migrated before anything else touches it.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};
use std::str::FromStr;
use std::time::Duration;

use crate::config::DatabaseArgs;
use crate::embedded_pg::{EmbeddedPgError, EmbeddedPostgres};

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
}

/// A migrated pool, plus the embedded cluster it runs on (if any), kept alive as long as this is.
pub struct Database {
    pub pool: PgPool,
    cluster: Option<EmbeddedPostgres>,
}

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
        database.cluster = Some(cluster);
        Ok(database)
    }

    /// Connects to an existing database and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Self, DatabaseError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(DatabaseError::BadUrl)?
            // A 201 promises durability: never let a server default weaken the commit.
            .options([("synchronous_commit", "on")])
            .log_statements(tracing::log::LevelFilter::Debug);
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // Fail fast when the database is gone: callers answer 503 instead of hanging.
            .acquire_timeout(Duration::from_secs(1))
            .connect_with(options)
            .await
            .map_err(DatabaseError::Connect)?;
        sqlx::migrate!("../migrations").run(&pool).await?;
        Ok(Database {
            pool,
            cluster: None,
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
            tokio::task::spawn_blocking(move || cluster.stop()).await??;
        }
        Ok(())
    }
}

/// The role `vigil serve` works as (see migrations/0007_serving_role.sql).
pub const SERVING_ROLE: &str = "vigil_app";
const SET_SERVING_ROLE: &str = "set role vigil_app";
/// Every query a request makes is cancelled after this long, so no request holds a connection
/// for minutes; exports and the chain check lift it for their own statements.
const SET_INTERACTIVE_TIMEOUT: &str = "set statement_timeout = '30s'";

/// A pool like `owner`'s whose connections act as `SERVING_ROLE`: they can insert and read
/// events but not update, delete or truncate them. Falls back to `owner` itself (with a
/// warning) when the role could not be set up, e.g. on a server where the login may not
/// create roles.
pub async fn serving_pool(owner: &PgPool) -> Result<PgPool, sqlx::Error> {
    let usable: bool = sqlx::query_scalar(
        "select exists (select from pg_roles where rolname = $1) \
            and pg_has_role(current_user, $1, 'member')",
    )
    .bind(SERVING_ROLE)
    .fetch_one(owner)
    .await?;
    if !usable {
        tracing::warn!(
            role = SERVING_ROLE,
            "the serving role is missing: serving as the owner, which could alter events"
        );
        return Ok(owner.clone());
    }
    PgPoolOptions::new()
        .max_connections(owner.options().get_max_connections())
        .acquire_timeout(owner.options().get_acquire_timeout())
        .after_connect(|conn, _| {
            Box::pin(async move {
                sqlx::Executor::execute(&mut *conn, SET_SERVING_ROLE).await?;
                sqlx::Executor::execute(&mut *conn, SET_INTERACTIVE_TIMEOUT).await?;
                Ok(())
            })
        })
        .connect_with((*owner.connect_options()).clone())
        .await
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
