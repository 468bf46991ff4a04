//! The `api_keys` table: producer (ingest) and read keys, stored only as hashes.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::StorageError;

/// Postgres channel on which key changes are announced, so every instance drops its cache
/// (`admin_revoke_key`, migrations/0012_administration.sql, names it too).
pub const KEY_CHANGES_CHANNEL: &str = "vigil_api_keys";

/// What a key may do: ingest keys post events, read keys query and follow them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Ingest,
    Read,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Ingest => "ingest",
            KeyKind::Read => "read",
        }
    }

    fn parse(s: &str) -> Result<Self, StorageError> {
        match s {
            "ingest" => Ok(KeyKind::Ingest),
            "read" => Ok(KeyKind::Read),
            other => Err(sqlx::Error::Decode(format!("unknown key kind `{other}`").into()).into()),
        }
    }
}

/// A key as listed: never the key itself, which is shown once at creation and not stored.
#[derive(Clone, Debug)]
pub struct ApiKeyRecord {
    pub name: String,
    pub kind: KeyKind,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// An active key, as the request path needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveKey {
    pub name: String,
    pub kind: KeyKind,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateKeyError {
    #[error("a key named `{0}` already exists")]
    NameTaken(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    name: String,
    kind: String,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug)]
pub struct KeyStore {
    pool: PgPool,
}

impl KeyStore {
    pub fn new(pool: PgPool) -> Self {
        KeyStore { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Through the owner's `admin_create_key` (the serving login may not insert keys itself),
    /// which also refuses the reserved name.
    #[tracing::instrument(skip(self, key_hash))]
    pub async fn create(
        &self,
        name: &str,
        kind: KeyKind,
        key_hash: &str,
    ) -> Result<(), CreateKeyError> {
        let inserted: bool = sqlx::query_scalar("select admin_create_key($1, $2, $3, $4)")
            .bind(Uuid::now_v7())
            .bind(name)
            .bind(kind.as_str())
            .bind(key_hash)
            .fetch_one(&self.pool)
            .await
            .map_err(StorageError::from)?;
        if !inserted {
            return Err(CreateKeyError::NameTaken(name.to_owned()));
        }
        Ok(())
    }

    #[tracing::instrument(skip(self))]
    pub async fn list(&self) -> Result<Vec<ApiKeyRecord>, StorageError> {
        let rows: Vec<KeyRow> = sqlx::query_as(
            "select name, kind, created_at, revoked_at from api_keys order by created_at, name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(ApiKeyRecord {
                    kind: KeyKind::parse(&row.kind)?,
                    name: row.name,
                    created_at: row.created_at,
                    revoked_at: row.revoked_at,
                })
            })
            .collect()
    }

    /// Revokes the named key and tells every instance (`admin_revoke_key` notifies
    /// `KEY_CHANGES_CHANNEL` at commit); `false` if no active key has that name.
    #[tracing::instrument(skip(self))]
    pub async fn revoke(&self, name: &str) -> Result<bool, StorageError> {
        Ok(sqlx::query_scalar("select admin_revoke_key($1)")
            .bind(name)
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn count(&self) -> Result<i64, StorageError> {
        Ok(sqlx::query_scalar("select count(*) from api_keys")
            .fetch_one(&self.pool)
            .await?)
    }

    #[tracing::instrument(skip_all)]
    pub async fn find_active(&self, key_hash: &str) -> Result<Option<ActiveKey>, StorageError> {
        let row: Option<(String, String)> = sqlx::query_as(
            "select name, kind from api_keys where key_hash = $1 and revoked_at is null",
        )
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(name, kind)| {
            Ok(ActiveKey {
                name,
                kind: KeyKind::parse(&kind)?,
            })
        })
        .transpose()
    }
}
