//! `vigil users …`: dashboard operators. Passwords come from stdin, never from the command line
//! (where `ps` and shell history would keep them).

use anyhow::Context;
use rand::distr::{Alphanumeric, SampleString};
use std::io::BufRead;

use crate::auth::hash_password;
use crate::config::UsersCommand;
use crate::storage::{OperatorStore, Role};

/// Shortest password accepted for an operator.
const MIN_PASSWORD_CHARS: usize = 8;

pub async fn run(command: UsersCommand, operators: &OperatorStore) -> anyhow::Result<()> {
    match command {
        UsersCommand::Create { username, role } => {
            let role = Role::parse(&role).context("role must be viewer or admin")?;
            eprintln!("Password for `{username}` (one line on stdin):");
            let mut password = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut password)
                .context("could not read the password")?;
            let password = password.trim_end_matches(['\r', '\n']);
            create(operators, &username, password, role).await?;
            eprintln!("Created {} `{username}`.", role.as_str());
        }
        UsersCommand::List => {
            println!(
                "{:<24} {:<7} {:<25} DISABLED",
                "USERNAME", "ROLE", "CREATED"
            );
            for op in operators.list().await? {
                let disabled = op
                    .disabled_at
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_else(|| "-".to_owned());
                println!(
                    "{:<24} {:<7} {:<25} {disabled}",
                    op.username,
                    op.role.as_str(),
                    op.created_at.to_rfc3339()
                );
            }
        }
        UsersCommand::Disable { username } => {
            anyhow::ensure!(
                operators.disable(&username).await?,
                "no active operator named `{username}`"
            );
            eprintln!("Disabled `{username}` and ended their sessions.");
        }
    }
    Ok(())
}

pub async fn create(
    operators: &OperatorStore,
    username: &str,
    password: &str,
    role: Role,
) -> anyhow::Result<()> {
    let username = username.trim();
    anyhow::ensure!(
        !username.is_empty() && username.len() <= 64,
        "a username must be 1 to 64 characters"
    );
    anyhow::ensure!(
        password.chars().count() >= MIN_PASSWORD_CHARS,
        "the password must be at least {MIN_PASSWORD_CHARS} characters"
    );
    anyhow::ensure!(
        operators
            .create(username, &hash_password(password), role)
            .await?,
        "an operator named `{username}` already exists"
    );
    Ok(())
}

/// On a fresh embedded database nobody could sign in: create `admin` with a generated password
/// and show it once.
pub async fn offer_first_admin(operators: &OperatorStore) -> anyhow::Result<()> {
    if operators.count().await? > 0 {
        return Ok(());
    }
    let password = Alphanumeric.sample_string(&mut rand::rng(), 20);
    create(operators, "admin", &password, Role::Admin).await?;
    println!("Created operator `admin` with password (shown only now): {password}");
    Ok(())
}
