//! Running a parsed command line: each subcommand opens the database the same way.

pub mod demo_data;
mod detect;
mod keys;
mod migrate;
pub mod tail;
mod tls;
mod users;
mod webhooks;

use anyhow::Context;

use crate::checkpoints::{self, CheckpointKey, CheckpointLog, Checkpointer};
use crate::config::{ChainCommand, Cli, Command, DbCommand, RulesCommand, ServeArgs, VerifyArgs};
use crate::database::{self, Database, ServingPools};
use crate::http::Application;
use crate::storage::{EventStore, KeyKind, KeyStore, OperatorStore};

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    // The one command that talks to a server instead of the database.
    let command = match cli.command {
        Command::Tail(args) => return tail::run(args).await,
        // The key lives outside the database: printing its public half needs nothing else.
        Command::Rules(command @ RulesCommand::Check { .. }) => {
            return detect::rules(&command, None).await
        }
        Command::Chain(ChainCommand::PublicKey(args)) => {
            let (key, _) = args.paths(&cli.database.data_dir);
            let key = CheckpointKey::load_or_create(&key)?;
            println!("{}", key.public_hex());
            return Ok(());
        }
        Command::Serve(mut args) => {
            let (key, log) = args.checkpoints.paths(&cli.database.data_dir);
            (
                args.checkpoints.signing_key,
                args.checkpoints.checkpoint_log,
            ) = (Some(key), Some(log));
            if args.app_database_url.is_some() {
                return serve_without_owner(&args, cli.database.database_url.is_some()).await;
            }
            Command::Serve(args)
        }
        command => command,
    };
    let database = Database::open(&cli.database)
        .await
        .context("could not open the database")?;
    let outcome = match command {
        Command::Serve(args) => serve(&args, &database).await,
        Command::Keys(command) => keys::run(command, &KeyStore::new(database.pool.clone())).await,
        Command::Webhooks(command) => {
            webhooks::run(command, &EventStore::new(database.pool.clone())).await
        }
        Command::Users(command) => {
            users::run(command, &OperatorStore::new(database.pool.clone())).await
        }
        Command::Db(DbCommand::Status) => db_status(&database).await,
        Command::DemoData(args) => {
            demo_data::run(&args, &EventStore::new(database.pool.clone())).await
        }
        Command::Verify(args) => verify(&args, &EventStore::new(database.pool.clone())).await,
        Command::Chain(ChainCommand::Checkpoint(args)) => {
            let (key, log) = args.paths(&cli.database.data_dir);
            let checkpointer = Checkpointer::open(&key, &log)?;
            let store = EventStore::new(database.pool.clone());
            match checkpointer.sign_head(&store).await? {
                Some(c) => println!("signed seq {} ({}) into {}", c.seq, c.hash, log.display()),
                None => println!("the newest checkpoint already covers the head"),
            }
            Ok(())
        }
        Command::Migrate(args) => migrate::run(&args, &database).await,
        Command::Rules(command) => {
            detect::rules(&command, Some(&EventStore::new(database.pool.clone()))).await
        }
        Command::Detect(args) => {
            detect::detect(&args, &EventStore::new(database.pool.clone())).await
        }
        Command::Chain(ChainCommand::PublicKey(_)) => unreachable!("handled before the database"),
        Command::Tail(_) => unreachable!("handled before opening the database"),
    };
    database
        .close()
        .await
        .context("could not stop the embedded database")?;
    outcome
}

async fn serve(args: &ServeArgs, database: &Database) -> anyhow::Result<()> {
    if database.is_embedded() {
        offer_first_key(&KeyStore::new(database.pool.clone())).await?;
        users::offer_first_admin(&OperatorStore::new(database.pool.clone())).await?;
    }
    let pools = (database.serving_pools().await).context("could not open the serving login")?;
    let app = Application::build(args, pools)
        .await
        .with_context(|| format!("could not start serving on {}", args.addr))?;
    if let Some(supervisor) = database.supervise() {
        tokio::spawn(supervisor);
    }
    run_app(app).await
}

/// `--app-database-url`: the process never opens the owner's URL, so it must not even be given.
async fn serve_without_owner(args: &ServeArgs, owner_url_given: bool) -> anyhow::Result<()> {
    if owner_url_given {
        anyhow::bail!(
            "--app-database-url and DATABASE_URL are both set: a process serving under the app \
             login must not hold the owner's credential. Run `vigil migrate` with DATABASE_URL, \
             then `vigil serve` with only VIGIL_APP_DATABASE_URL"
        );
    }
    let url = args
        .app_database_url
        .as_ref()
        .expect("called with an app URL");
    let serving = database::connect_app(&url.0)
        .await
        .context("could not open the serving login")?;
    let pools = ServingPools {
        serving: serving.clone(),
        owner: None,
    };
    let app = Application::build(args, pools)
        .await
        .with_context(|| format!("could not start serving on {}", args.addr))?;
    let outcome = run_app(app).await;
    serving.close().await;
    outcome
}

async fn run_app(app: Application) -> anyhow::Result<()> {
    let addr = app.local_addr();
    tracing::info!("vigil is serving on http://{addr}");
    println!("Vigil dashboard: http://{addr}/");
    app.run_until(shutdown_signal()).await?;
    tracing::info!("vigil stopped");
    Ok(())
}

/// On a fresh embedded database nobody could post anything: create one ingest key and show it
/// once, the way the first start of a local install should feel.
async fn offer_first_key(keys: &KeyStore) -> anyhow::Result<()> {
    if keys.count().await? > 0 {
        return Ok(());
    }
    let key = keys::create(keys, "default", KeyKind::Ingest).await?;
    println!("Created ingest key `default` (shown only now): {key}");
    println!("Post events with: Authorization: Bearer {key}");
    Ok(())
}

/// Prints the outcome; a broken chain is an error (exit status 1) so scripts and cron notice.
async fn verify(args: &VerifyArgs, store: &EventStore) -> anyhow::Result<()> {
    let outcome = store
        .verify_chain(args.from_seq)
        .await
        .context("could not walk the chain")?;
    if let Some(seq) = outcome.first_bad_seq {
        anyhow::bail!(
            "the chain is broken at seq {seq}: that event was changed or removed after it was \
             stored (verified through seq {})",
            outcome.through_seq
        );
    }
    println!(
        "verified through seq {} ({} events after seq {})",
        outcome.through_seq,
        outcome.through_seq - outcome.from_seq,
        outcome.from_seq
    );
    let (Some(log), Some(public_key)) = (&args.checkpoints, &args.public_key) else {
        return Ok(());
    };
    // A file holding the key, or the key itself.
    let public_key = std::fs::read_to_string(public_key).unwrap_or_else(|_| public_key.clone());
    let public_key = checkpoints::parse_public_key(&public_key).context("--public-key")?;
    let signed = CheckpointLog::new(log.clone()).read_all()?;
    let report = (checkpoints::check_chain(store, &signed, &public_key).await)
        .context("could not read the stored chain")?;
    if let Some((checkpoint, why)) = report.mismatch {
        anyhow::bail!(
            "the database no longer matches the checkpoint signed at {} for seq {} (hash {}): \
             {why}. History was rewritten after it was signed ({} earlier checkpoints matched)",
            checkpoint.signed_at,
            checkpoint.seq,
            checkpoint.hash,
            report.matched
        );
    }
    println!(
        "passes through every signed checkpoint: {} matched, {} older than the retained chain",
        report.matched, report.before_retention
    );
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
    let parts = EventStore::new(database.pool.clone())
        .stored_parts()
        .await?;
    let total: i64 = parts.iter().map(|p| p.bytes).sum();
    let per_event = |bytes: i64| bytes as f64 / events.max(1) as f64;
    println!(
        "on disk: {} MB, {:.0} bytes per event",
        total / 1_000_000,
        per_event(total)
    );
    for part in parts {
        println!(
            "  {:<24} {:>8} MB {:>6.0} bytes per event",
            part.name,
            part.bytes / 1_000_000,
            per_event(part.bytes)
        );
    }
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
