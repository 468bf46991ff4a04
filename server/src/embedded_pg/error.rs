//! The one error type of the embedded PostgreSQL cluster, with messages written for the person running vigil.

use std::path::PathBuf;

/// Everything that can go wrong while creating, starting, attaching to or stopping the cluster.
///
/// Each message says what failed and where, so that it can be shown as is when vigil exits.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedPgError {
    /// Neither `pg_config --bindir` nor `/usr/lib/postgresql/*/bin` has `initdb`, `pg_ctl` and `postgres`.
    #[error(
        "PostgreSQL server binaries not found; install them (Debian/Ubuntu: `apt-get install postgresql`) \
         or set DATABASE_URL to use an existing server."
    )]
    BinariesNotFound,

    /// PostgreSQL refuses to run as root, and there is no account to hand it to.
    #[error(
        "vigil runs as root, but PostgreSQL refuses to run as root and neither a `postgres` nor a \
         `nobody` user exists to run it as; create one or set DATABASE_URL to use an existing server"
    )]
    NoUnprivilegedUser,

    /// A file-system or process operation failed; `context` says which and on what path.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// A PostgreSQL tool (`initdb`, `pg_ctl stop`) exited unsuccessfully.
    #[error("{what} failed ({status}):\n{stderr_tail}")]
    Command {
        what: String,
        status: String,
        stderr_tail: String,
    },

    /// `pg_ctl start` failed; the server log usually says why (port taken, bad permissions, ...).
    #[error("PostgreSQL failed to start: {reason}\nlast lines of {log}:\n{log_tail}")]
    StartFailed {
        reason: String,
        log: PathBuf,
        log_tail: String,
    },

    /// The server claims to run but its port does not accept TCP connections.
    #[error(
        "PostgreSQL on 127.0.0.1:{port} did not accept TCP connections within {waited_secs} s"
    )]
    NotReady { port: u16, waited_secs: u64 },

    /// The cluster exists but the password that opens it is gone, so vigil could never log in.
    #[error(
        "the PostgreSQL cluster in {pgdata} exists but its password file {password_file} is missing or \
         empty; restore that file, or delete the cluster to start over with an empty database"
    )]
    PasswordMissing {
        pgdata: PathBuf,
        password_file: PathBuf,
    },

    /// As root, the account running PostgreSQL cannot reach an existing cluster directory.
    #[error(
        "PostgreSQL runs as user `{user}`, which cannot reach {path}: a directory on the way is not \
         searchable by it; allow it (e.g. `chmod o+x` on the parent directories) or move the data directory"
    )]
    Unreachable { user: String, path: PathBuf },

    /// Taking one of the coordination locks (`start.lock`, `users.lock`) failed.
    #[error("could not lock {path}: {source}")]
    Lock {
        path: PathBuf,
        #[source]
        source: nix::errno::Errno,
    },

    /// The cluster's files are in a state vigil cannot work with; the message says which and why.
    #[error("{0}")]
    Invalid(String),
}

/// Shorthand for the module's results.
pub(crate) type Result<T, E = EmbeddedPgError> = std::result::Result<T, E>;

/// Builds a `map_err` adapter that wraps an `io::Error` with a description of what was being done.
pub(crate) fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> EmbeddedPgError {
    let context = context.into();
    move |source| EmbeddedPgError::Io { context, source }
}

/// The last `n` non-empty lines of `text`, for error messages that should not drown the reader.
pub(crate) fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
