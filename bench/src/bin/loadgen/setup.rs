//! Setting the stage: the app under test, the pools, and the run's own database.

use anyhow::{Context, Result};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use vigil_server::config::ServeArgs;
use vigil_server::database::Database;
use vigil_server::embedded_pg::EmbeddedPostgres;
use vigil_server::http::Application;

use crate::measure::JOB_TIMEOUT;

/// PostgreSQL for a benchmark run: the embedded cluster in a data directory (started here and
/// stopped by `stop`), or the server a `DATABASE_URL` names.
pub struct BenchPostgres {
    cluster: Option<EmbeddedPostgres>,
    /// The server's `postgres` database, for creating and dropping the run's database.
    pub admin_url: String,
    /// The embedded cluster's data directory, to find its processes for CPU accounting.
    pub pgdata: Option<PathBuf>,
    data_dir: PathBuf,
}

impl BenchPostgres {
    pub async fn start(data_dir: &Path, database_url: Option<&str>) -> Result<Self> {
        if let Some(url) = database_url {
            return Ok(BenchPostgres {
                cluster: None,
                admin_url: url.to_owned(),
                pgdata: None,
                data_dir: data_dir.to_owned(),
            });
        }
        eprintln!("starting PostgreSQL in {}", data_dir.display());
        let dir = data_dir.to_owned();
        let cluster = tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&dir)).await??;
        Ok(BenchPostgres {
            admin_url: cluster.url("postgres"),
            cluster: Some(cluster),
            pgdata: Some(data_dir.join("pg")),
            data_dir: data_dir.to_owned(),
        })
    }

    /// Stops the embedded cluster, as an outage would (`start_again` brings it back).
    pub async fn stop_for_restart(&mut self) -> Result<()> {
        let cluster = self
            .cluster
            .take()
            .context("only the embedded cluster can be restarted")?;
        tokio::task::spawn_blocking(move || cluster.stop()).await??;
        Ok(())
    }

    /// Starts the embedded cluster again, on the same port (it prefers its previous one).
    pub async fn start_again(&mut self) -> Result<()> {
        let dir = self.data_dir.clone();
        let cluster = tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&dir)).await??;
        anyhow::ensure!(
            cluster.url("postgres") == self.admin_url,
            "PostgreSQL came back on another port"
        );
        self.cluster = Some(cluster);
        Ok(())
    }

    /// Drops the databases that earlier runs of this benchmark (`<prefix>_<uuid>`) left in the
    /// benchmark's own cluster when they were killed: gigabytes each, and autovacuum works
    /// through them during the next runs' phases. Only those nobody is connected to (a run going
    /// on beside this one keeps its own), and never on a server a `DATABASE_URL` names.
    pub async fn drop_leftovers(&self, prefix: &str) -> Result<()> {
        if self.cluster.is_none() {
            return Ok(());
        }
        let mut conn = PgConnection::connect(&self.admin_url).await?;
        let leftovers: Vec<String> = sqlx::query_scalar(
            "select datname from pg_database d where datname ~ $1 and not exists \
                 (select 1 from pg_stat_activity a where a.datname = d.datname)",
        )
        .bind(format!("^{prefix}_[0-9a-f]{{32}}$"))
        .fetch_all(&mut conn)
        .await?;
        conn.close().await?;
        for name in leftovers {
            eprintln!("dropping {name}, left by an earlier run");
            drop_database(&self.admin_url, &name).await?;
        }
        Ok(())
    }

    pub async fn stop(self) -> Result<()> {
        if let Some(cluster) = self.cluster {
            eprintln!("stopping PostgreSQL");
            tokio::task::spawn_blocking(move || cluster.stop())
                .await?
                .context("stopping the embedded PostgreSQL")?;
        }
        Ok(())
    }
}

/// The real Vigil application on a loopback port, as the integration tests start it.
pub struct RunningApp {
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    serving: JoinHandle<std::io::Result<()>>,
    database: Database,
}

impl RunningApp {
    pub async fn start(url: String) -> Result<Self> {
        Self::start_with(url, |_| {}).await
    }

    /// Like `start`, with settings adjusted (a benchmark comparing two choices).
    pub async fn start_with(url: String, adjust: impl FnOnce(&mut ServeArgs)) -> Result<Self> {
        let database = Database::connect(&url).await?;
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        let mut config = ServeArgs::on(loopback);
        adjust(&mut config);
        // As `vigil serve` reads it, so a benchmark can compare choices.
        if let Ok(cpus) = std::env::var("VIGIL_LIVE_CPUS") {
            config.live_cpus = cpus.parse().map_err(anyhow::Error::msg)?;
        }
        let app = Application::build(&config, database.serving_pools().await?).await?;
        let addr = app.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        Ok(RunningApp {
            addr,
            stop,
            serving,
            database,
        })
    }

    pub async fn stop(self, server: &Handle) -> Result<()> {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.serving)
            .await
            .context("Vigil did not shut down within 10 s")???;
        server.spawn(self.database.close()).await??;
        Ok(())
    }
}

/// The pool of the baseline phases and of the chores (truncate, count), with every connection
/// opened up front so that phase b does not time connection setup.
pub async fn bench_pool(url: &str, clients: usize) -> Result<PgPool> {
    let size = clients.min(64) as u32;
    // As Vigil's pool does: a stored row is a durable row.
    let options = PgConnectOptions::from_str(url)?.options([("synchronous_commit", "on")]);
    let pool = PgPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(JOB_TIMEOUT)
        .connect_with(options)
        .await?;
    drop(futures::future::try_join_all((0..size).map(|_| pool.acquire())).await?);
    Ok(pool)
}
pub async fn describe_postgres(pool: &PgPool) -> Result<String> {
    let (version, fsync, sync): (String, String, String) = sqlx::query_as(
        "select current_setting('server_version'), current_setting('fsync'), current_setting('synchronous_commit')",
    )
    .fetch_one(pool)
    .await?;
    let version = version
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned();
    Ok(format!(
        "PostgreSQL {version} (fsync {fsync}, synchronous_commit {sync})"
    ))
}

/// `server_url` with its database name replaced by `name`.
pub fn with_database(server_url: &str, name: &str) -> Result<String> {
    let after_scheme = server_url
        .find("://")
        .context("a database URL looks like postgres://user@host/db")?
        + 3;
    let (base, query) = server_url.split_at(server_url.find('?').unwrap_or(server_url.len()));
    let path_start = base[after_scheme..]
        .find('/')
        .map_or(base.len(), |p| after_scheme + p);
    Ok(format!("{}/{name}{query}", &base[..path_start]))
}

/// `name` is always generated here (`loadgen_<uuid>`), never user input.
pub async fn drop_database(admin_url: &str, name: &str) -> Result<()> {
    let mut conn = PgConnection::connect(admin_url).await?;
    sqlx::query(&format!("drop database if exists \"{name}\" with (force)"))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}
