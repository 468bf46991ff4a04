//! The connections `vigil serve` works through: a login that is only a member of `vigil_app`
//! (the embedded default's `vigil_serving`, or `--app-database-url`), or, on a server where only
//! the owner's URL is given, the owner's login with `SET ROLE vigil_app`.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};

use super::{connect_options, latest_migration, pool_options, DatabaseError};

/// The role `vigil serve` works as (see migrations/0007_serving_role.sql).
pub const SERVING_ROLE: &str = "vigil_app";
const SET_SERVING_ROLE: &str = "set role vigil_app";
/// Every query a request makes is cancelled after this long, so no request holds a connection
/// for minutes; exports and the chain check lift it for their own statements.
const SET_INTERACTIVE_TIMEOUT: &str = "set statement_timeout = '30s'";
/// The login the embedded cluster serves with, its password in `DATA_DIR/pg-serving-password`.
pub const EMBEDDED_LOGIN: &str = "vigil_serving";
/// Attempts at creating or updating a login while other Vigil processes do the same.
const LOGIN_ATTEMPTS: usize = 5;

/// What a serving process holds.
#[derive(Clone, Debug)]
pub struct ServingPools {
    /// Requests, the writer and the routine upkeep.
    pub serving: PgPool,
    /// The owner's, for retention only; `None` under `--app-database-url`.
    pub owner: Option<PgPool>,
}

/// Every connection acts as `vigil_app` and cancels its queries after `SET_INTERACTIVE_TIMEOUT`.
fn serving_pool_options(max: u32) -> PgPoolOptions {
    pool_options()
        .max_connections(max)
        .after_connect(|conn, _| {
            Box::pin(async move {
                sqlx::Executor::execute(&mut *conn, SET_SERVING_ROLE).await?;
                sqlx::Executor::execute(&mut *conn, SET_INTERACTIVE_TIMEOUT).await?;
                Ok(())
            })
        })
}

/// A pool like `owner`'s whose connections `SET ROLE vigil_app`: they can insert and read
/// events but not update, delete or truncate them, though `RESET ROLE` gives the owner back.
/// Falls back to `owner` itself (with a warning) when the role could not be set up, e.g. on a
/// server where the login may not create roles.
pub async fn set_role_pool(owner: &PgPool) -> Result<PgPool, sqlx::Error> {
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
    tracing::warn!(
        "serving with the owner's login (SET ROLE vigil_app): a query that ran RESET ROLE could \
         change events; --app-database-url serves without the owner's credential"
    );
    serving_pool_options(owner.options().get_max_connections())
        .connect_with((*owner.connect_options()).clone())
        .await
}

/// `vigil serve --app-database-url`: a pool of the serving login, after checking that it is at
/// the binary's schema and holds no right beyond `vigil_app`'s. No migrations: the login may not.
pub async fn connect_app(url: &str) -> Result<PgPool, DatabaseError> {
    serving_login_pool(connect_options(url)?).await
}

/// A pool of `login` (created or updated first by `owner`, see `ensure_login`) on `owner`'s
/// database: the embedded default, and the tests.
pub async fn login_pool(
    owner: &PgPool,
    login: &str,
    password: &str,
) -> Result<PgPool, DatabaseError> {
    let options = (*owner.connect_options())
        .clone()
        .username(login)
        .password(password);
    // Most starts find the login as the last one left it: then no DDL races other instances.
    if let Ok(mut conn) = PgConnection::connect_with(&options).await {
        if check_serving_login(&mut conn).await.is_ok() {
            let _ = conn.close().await;
            return serving_login_pool(options).await;
        }
    }
    ensure_login(owner, login, password).await?;
    serving_login_pool(options).await
}

async fn serving_login_pool(options: PgConnectOptions) -> Result<PgPool, DatabaseError> {
    let mut conn = PgConnection::connect_with(&options)
        .await
        .map_err(DatabaseError::Connect)?;
    check_serving_login(&mut conn).await?;
    let _ = conn.close().await;
    serving_pool_options(16)
        .connect_with(options)
        .await
        .map_err(DatabaseError::Connect)
}

/// Refuses a login that could change events, or a schema other than this binary's.
async fn check_serving_login(conn: &mut PgConnection) -> Result<(), DatabaseError> {
    let (login, why): (String, Option<String>) = sqlx::query_as(
        "select r.rolname::text, case \
           when r.rolsuper then 'is a superuser' \
           when r.rolcreaterole then 'may create roles' \
           when r.rolbypassrls or r.rolreplication then 'may bypass row security or replicate' \
           when pg_has_role(session_user, 'pg_execute_server_program', 'member') \
             or pg_has_role(session_user, 'pg_write_server_files', 'member') \
             then 'may run programs or write files on the server' \
           when to_regclass('events') is not null and pg_has_role(session_user, \
             (select relowner from pg_class where oid = to_regclass('events')), 'member') \
             then 'owns the events (it is, or is a member of, their owner)' \
           when not exists (select from pg_roles where rolname = 'vigil_app') \
             then 'cannot serve: role vigil_app does not exist (run `vigil migrate` as a login \
                   that may create roles)' \
           when not pg_has_role(session_user, 'vigil_app', 'member') \
             then 'is not a member of vigil_app' \
         end \
         from pg_roles r where r.rolname = session_user",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(DatabaseError::Connect)?;
    if let Some(why) = why {
        return Err(DatabaseError::ServingLogin { login, why });
    }
    let need = latest_migration();
    // Before migration 10 the serving role may not read the migrations table.
    let have: i64 = match sqlx::query_scalar(
        "select coalesce(max(version), 0) from _sqlx_migrations where success",
    )
    .fetch_one(&mut *conn)
    .await
    {
        Ok(version) => version,
        Err(sqlx::Error::Database(db))
            if matches!(db.code().as_deref(), Some("42501" | "42P01")) =>
        {
            0
        }
        Err(err) => return Err(DatabaseError::Connect(err)),
    };
    if have != need {
        return Err(DatabaseError::Schema { have, need });
    }
    Ok(())
}

/// Creates `login` as a member of `vigil_app` and nothing else, or sets the password of the
/// one there; refuses a role that has any other right. As `owner`, who must be allowed to
/// create roles.
pub async fn ensure_login(
    owner: &PgPool,
    login: &str,
    password: &str,
) -> Result<(), DatabaseError> {
    check_login_name(login)?;
    if password.len() < 16 || !password.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(DatabaseError::LoginName(
            "a serving login's password must be at least 16 letters and digits".into(),
        ));
    }
    // Role DDL takes no parameters, and the password must never reach a log line.
    let options = (*owner.connect_options())
        .clone()
        .log_statements(tracing::log::LevelFilter::Off);
    let mut conn = PgConnection::connect_with(&options)
        .await
        .map_err(DatabaseError::Connect)?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match write_login(&mut conn, login, password).await {
            Err(DatabaseError::Connect(sqlx::Error::Database(db)))
                if attempt < LOGIN_ATTEMPTS
                    // Another process created, altered or granted the same login meanwhile.
                    && matches!(db.code().as_deref(), Some("42710" | "23505" | "XX000")) => {}
            done => {
                let _ = conn.close().await;
                return done;
            }
        }
    }
}

async fn write_login(
    conn: &mut PgConnection,
    login: &str,
    password: &str,
) -> Result<(), DatabaseError> {
    let existing: Option<Option<String>> = sqlx::query_scalar(
        "select case \
           when r.rolsuper or r.rolcreaterole or r.rolcreatedb or r.rolreplication \
             or r.rolbypassrls then 'has rights beyond serving' \
           when r.rolname = current_user then 'is the login running this' \
           when exists (select from pg_auth_members m join pg_roles g on g.oid = m.roleid \
                        where m.member = r.oid and g.rolname <> 'vigil_app') \
             then 'is a member of other roles' \
           when exists (select from pg_class where relowner = r.oid) then 'owns tables' \
         end from pg_roles r where r.rolname = $1",
    )
    .bind(login)
    .fetch_optional(&mut *conn)
    .await
    .map_err(DatabaseError::Connect)?;
    let statements = match existing {
        Some(Some(why)) => {
            return Err(DatabaseError::ServingLogin {
                login: login.into(),
                why,
            })
        }
        Some(None) => vec![
            format!("alter role \"{login}\" login password '{password}'"),
            format!("grant vigil_app to \"{login}\""),
        ],
        None => vec![format!(
            "create role \"{login}\" login password '{password}' nosuperuser nocreatedb \
             nocreaterole noreplication nobypassrls inherit in role vigil_app"
        )],
    };
    for statement in statements {
        sqlx::Executor::execute(&mut *conn, statement.as_str())
            .await
            .map_err(DatabaseError::Connect)?;
    }
    Ok(())
}

/// Lowercase letters, digits and `_`, as PostgreSQL folds unquoted names; never one of its own.
fn check_login_name(login: &str) -> Result<(), DatabaseError> {
    let plain = login.len() <= 63
        && login.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && login
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !plain || login.starts_with("pg_") || login == SERVING_ROLE {
        return Err(DatabaseError::LoginName(format!(
            "`{login}` cannot be a serving login: use lowercase letters, digits and _, at most \
             63, not starting with pg_ and not vigil_app itself"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_names_are_plain_and_never_a_reserved_role() {
        for good in ["vigil_serving", "_x", "app2"] {
            assert!(check_login_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Vigil",
            "a-b",
            "a\"b",
            "pg_monitor",
            "vigil_app",
            "2app",
            &"a".repeat(64),
        ] {
            assert!(check_login_name(bad).is_err(), "{bad:?}");
        }
    }
}
