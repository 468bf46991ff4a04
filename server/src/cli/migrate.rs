//! `vigil migrate`: the owner's half of serving without the owner's credential. Opening the
//! database has applied the migrations; this creates and drops months, and makes the login
//! that `vigil serve --app-database-url` works as.

use anyhow::Context;
use rand::distr::Alphanumeric;
use rand::Rng;

use crate::config::MigrateArgs;
use crate::database::{self, Database};
use crate::maintenance;
use crate::storage::EventStore;

/// Long enough to be unguessable; letters and digits need no quoting in a URL.
const LOGIN_PASSWORD_LEN: usize = 32;

pub async fn run(args: &MigrateArgs, database: &Database) -> anyhow::Result<()> {
    let store = EventStore::new(database.pool.clone());
    println!("schema at migration {}", store.schema_version().await?);
    let (created, dropped) = maintenance::upkeep_partitions(&store, args.retention_days)
        .await
        .context("could not create or drop partitions")?;
    for partition in created {
        println!("created partition {}", partition.name);
    }
    for partition in dropped {
        println!("dropped expired partition {}", partition.name);
    }
    if let Some(login) = &args.app_login {
        let password: String = rand::rng()
            .sample_iter(Alphanumeric)
            .take(LOGIN_PASSWORD_LEN)
            .map(char::from)
            .collect();
        database::ensure_login(&database.pool, login, &password).await?;
        let options = database.pool.connect_options();
        println!("login {login} may serve, and nothing more (its password is shown only now):");
        println!(
            "VIGIL_APP_DATABASE_URL=postgres://{login}:{password}@{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or(options.get_username())
        );
    }
    Ok(())
}
