//! `vigil keys …`: create, list and revoke API keys. Results go to stdout, messages to stderr.

use anyhow::Context;

use crate::auth::{generate_key, hash_key};
use crate::config::KeysCommand;
use crate::events::SELF_SOURCE;
use crate::storage::{KeyKind, KeyStore};

pub async fn run(command: KeysCommand, keys: &KeyStore) -> anyhow::Result<()> {
    match command {
        KeysCommand::Create { name, read } => {
            let kind = if read { KeyKind::Read } else { KeyKind::Ingest };
            let key = create(keys, &name, kind).await?;
            eprintln!(
                "Created {} key `{name}`. It is shown only now; store it safely.",
                kind.as_str()
            );
            println!("{key}");
        }
        KeysCommand::List => {
            println!("{:<24} {:<7} {:<25} REVOKED", "NAME", "KIND", "CREATED");
            for key in keys.list().await? {
                let revoked = key
                    .revoked_at
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_else(|| "-".to_owned());
                println!(
                    "{:<24} {:<7} {:<25} {revoked}",
                    key.name,
                    key.kind.as_str(),
                    key.created_at.to_rfc3339()
                );
            }
        }
        KeysCommand::Revoke { name } => {
            if !keys.revoke(&name).await? {
                anyhow::bail!("no active key named `{name}`");
            }
            eprintln!("Revoked key `{name}`.");
        }
    }
    Ok(())
}

/// Creates a key and returns it; only its hash is stored.
pub async fn create(keys: &KeyStore, name: &str, kind: KeyKind) -> anyhow::Result<String> {
    let name = name.trim();
    anyhow::ensure!(
        !name.is_empty() && name.len() <= 64,
        "a key name must be 1 to 64 characters"
    );
    // A key's name is its events' `source`: this one marks Vigil's own events.
    anyhow::ensure!(
        !name.eq_ignore_ascii_case(SELF_SOURCE),
        "the name `{SELF_SOURCE}` is reserved for Vigil's own events"
    );
    let key = generate_key();
    keys.create(name, kind, &hash_key(&key))
        .await
        .context("could not create the key")?;
    Ok(key)
}
