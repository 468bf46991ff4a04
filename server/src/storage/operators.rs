//! The `operators` and `operator_sessions` tables: dashboard users and their signed-in sessions.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::StorageError;

/// What an operator may do: viewers read; admins also manage (reserved for admin pages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Viewer,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "viewer" => Some(Role::Viewer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct OperatorRecord {
    pub id: Uuid,
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct OperatorRow {
    id: Uuid,
    username: String,
    password_hash: String,
    role: String,
    created_at: DateTime<Utc>,
    disabled_at: Option<DateTime<Utc>>,
}

impl OperatorRow {
    fn into_record(self) -> OperatorRecord {
        OperatorRecord {
            id: self.id,
            // The check constraint allows only the two roles.
            role: Role::parse(&self.role).unwrap_or(Role::Viewer),
            username: self.username,
            password_hash: self.password_hash,
            created_at: self.created_at,
            disabled_at: self.disabled_at,
        }
    }
}

const OPERATOR_COLUMNS: &str = "id, username, password_hash, role, created_at, disabled_at";

#[derive(Clone, Debug)]
pub struct OperatorStore {
    pool: PgPool,
}

impl OperatorStore {
    pub fn new(pool: PgPool) -> Self {
        OperatorStore { pool }
    }

    /// `false` if the username is taken. Through the owner's `admin_create_operator` (the
    /// serving login may not insert operators itself).
    #[tracing::instrument(skip(self, password_hash))]
    pub async fn create(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
    ) -> Result<bool, StorageError> {
        Ok(
            sqlx::query_scalar("select admin_create_operator($1, $2, $3, $4)")
                .bind(Uuid::now_v7())
                .bind(username)
                .bind(password_hash)
                .bind(role.as_str())
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub async fn list(&self) -> Result<Vec<OperatorRecord>, StorageError> {
        let sql = format!("select {OPERATOR_COLUMNS} from operators order by username");
        let rows: Vec<OperatorRow> = sqlx::query_as(&sql).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(OperatorRow::into_record).collect())
    }

    pub async fn count(&self) -> Result<i64, StorageError> {
        Ok(sqlx::query_scalar("select count(*) from operators")
            .fetch_one(&self.pool)
            .await?)
    }

    #[tracing::instrument(skip_all, fields(username = %crate::telemetry::untrusted(username)))]
    pub async fn by_username(
        &self,
        username: &str,
    ) -> Result<Option<OperatorRecord>, StorageError> {
        let sql = format!("select {OPERATOR_COLUMNS} from operators where username = $1");
        let row: Option<OperatorRow> = sqlx::query_as(&sql)
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(OperatorRow::into_record))
    }

    /// Disables the operator and ends their sessions at once; `false` if no active operator.
    #[tracing::instrument(skip(self))]
    pub async fn disable(&self, username: &str) -> Result<bool, StorageError> {
        Ok(sqlx::query_scalar("select admin_disable_operator($1)")
            .bind(username)
            .fetch_one(&self.pool)
            .await?)
    }

    /// Sets an enabled operator's password and ends their sessions, all but the one whose token
    /// hashes to `keep_session` (an operator changing their own stays signed in there); `false`
    /// if no enabled operator has that name.
    #[tracing::instrument(skip(self, password_hash, keep_session))]
    pub async fn set_password(
        &self,
        username: &str,
        password_hash: &str,
        keep_session: Option<&str>,
    ) -> Result<bool, StorageError> {
        Ok(sqlx::query_scalar("select admin_set_password($1, $2, $3)")
            .bind(username)
            .bind(password_hash)
            .bind(keep_session)
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn create_session(
        &self,
        operator_id: Uuid,
        token_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        sqlx::query("insert into operator_sessions (token_hash, operator_id, expires_at) values ($1, $2, $3)")
            .bind(token_hash)
            .bind(operator_id)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        // Expired sessions are useless; sweeping them here keeps the table small without a job.
        sqlx::query("delete from operator_sessions where expires_at < now()")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The active operator holding this session, if it is unexpired and the operator enabled.
    #[tracing::instrument(skip_all)]
    pub async fn session_operator(
        &self,
        token_hash: &str,
    ) -> Result<Option<(String, Role)>, StorageError> {
        let row: Option<(String, String)> = sqlx::query_as(
            "select o.username, o.role from operator_sessions s join operators o on o.id = s.operator_id \
             where s.token_hash = $1 and s.expires_at > now() and o.disabled_at is null",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(name, role)| (name, Role::parse(&role).unwrap_or(Role::Viewer))))
    }

    pub async fn end_session(&self, token_hash: &str) -> Result<(), StorageError> {
        sqlx::query("delete from operator_sessions where token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
