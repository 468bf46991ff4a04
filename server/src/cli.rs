//! Running a parsed command line: each subcommand opens the database the same way.

use anyhow::Context;

use crate::config::{Cli, Command, DbCommand, ServeArgs};
use crate::database::Database;
use crate::startup::Application;
use crate::storage::EventStore;

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let database = Database::open(&cli.database)
        .await
        .context("could not open the database")?;
    let outcome = match cli.command {
        Command::Serve(args) => serve(&args, &database).await,
        Command::Db(DbCommand::Status) => db_status(&database).await,
    };
    database
        .close()
        .await
        .context("could not stop the embedded database")?;
    outcome
}

async fn serve(args: &ServeArgs, database: &Database) -> anyhow::Result<()> {
    let store = EventStore::new(database.pool.clone());
    let app = Application::build(args, store)
        .await
        .with_context(|| format!("could not listen on {}", args.addr))?;
    let addr = app.local_addr();
    tracing::info!("vigil is serving on http://{addr}");
    println!("Vigil dashboard: http://{addr}/");
    app.run_until(shutdown_signal()).await?;
    tracing::info!("vigil stopped");
    Ok(())
}

async fn db_status(database: &Database) -> anyhow::Result<()> {
    let version: Option<i64> = sqlx::query_scalar("select max(version) from _sqlx_migrations")
        .fetch_one(&database.pool)
        .await?;
    let events: i64 = sqlx::query_scalar("select count(*) from events")
        .fetch_one(&database.pool)
        .await?;
    println!("schema version: {}", version.unwrap_or(0));
    println!("events: {events}");
    Ok(())
}

/// SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler cannot fail on Unix");
    tokio::select! {
        _ = interrupt => {},
        _ = terminate.recv() => {},
    }
    tracing::info!("shutting down");
}
