//! Embedded PostgreSQL: a private cluster that vigil runs itself, from the system's PostgreSQL
//! binaries, inside its data directory, so that a single `vigil` needs no database set up by hand.
//!
//! Layout of the data directory:
//! - `pg/`: PGDATA, or (root only, see [`layout`]) a symlink to it;
//! - `pg-password`: the generated password of superuser `vigil` (mode 600);
//! - `pg-serving-password`: the generated password of the serving login (mode 600);
//! - `start.lock`, `users.lock`: coordination between vigil processes sharing the cluster.
//!
//! The server listens on 127.0.0.1 only, on a port picked at each start; other processes learn it
//! from line 4 of `pg/postmaster.pid`. Several vigil processes (say a server and a CLI command)
//! may use one cluster: the first starts it, the others attach, and the last one to let go stops
//! it. Each live handle holds a shared flock on `users.lock`; letting go means trying to turn it
//! exclusive without waiting, which succeeds only for the last user. Starting and letting go both
//! happen under an exclusive flock on `start.lock`, so a starter never attaches to a cluster that a
//! stopper is about to shut down. All calls block (they run processes and wait on them): async
//! callers wrap them in `spawn_blocking`.

mod binaries;
mod cluster;
mod error;
mod layout;
mod lock;
mod password;
mod pidfile;
mod privileges;
#[cfg(test)]
mod tests;

use std::fmt;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::fcntl::{Flock, FlockArg};

use cluster::{wait_for_tcp, Cluster, SUPERUSER};
pub use error::EmbeddedPgError;
use error::{io_err, Result};

/// How long a started or attached server gets to accept TCP connections.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to wait for the children of a killed postmaster to let go of its shared memory.
const ORPHAN_TIMEOUT: Duration = Duration::from_secs(10);

/// A claim on the running cluster of one data directory; the cluster stops when the last claim,
/// in any process, is released (by [`EmbeddedPostgres::stop`] or by dropping).
pub struct EmbeddedPostgres {
    data_dir: PathBuf,
    port: u16,
    password: String,
    cluster: Cluster,
    /// Shared flock on `users.lock`; `None` once released.
    claim: Option<Flock<File>>,
}

impl EmbeddedPostgres {
    /// Creates the cluster on first use, starts it if not running, or attaches to one already running
    /// (started by another vigil process with the same data dir). Holds a shared claim on it until dropped.
    pub fn start(data_dir: &Path) -> Result<Self, EmbeddedPgError> {
        let bins = binaries::find()?;
        let runner = privileges::Runner::for_current_process()?;
        fs::create_dir_all(data_dir).map_err(io_err(format!(
            "creating data directory {}",
            data_dir.display()
        )))?;
        let data_dir = fs::canonicalize(data_dir).map_err(io_err(format!(
            "resolving data directory {}",
            data_dir.display()
        )))?;
        let _serialised = lock::lock(&data_dir.join(lock::START_LOCK), FlockArg::LockExclusive)?;

        let layout = layout::prepare(&data_dir, &runner)?;
        let cluster = Cluster {
            bins,
            runner,
            pgdata: layout.pgdata.clone(),
        };
        let password = password::load_or_create(
            &layout.password_file(),
            &layout.pgdata,
            cluster.is_initialised(),
        )?;
        if !cluster.is_initialised() {
            tracing::info!(pgdata = %layout.pgdata.display(), "creating PostgreSQL cluster (first start)");
            cluster.initdb(&password)?;
        }
        let (port, started) = match pidfile::running(&layout.pgdata)? {
            Some(live) => {
                tracing::info!(
                    port = live.port,
                    pid = live.pid,
                    "attaching to running PostgreSQL"
                );
                (live.port, false)
            }
            None => {
                pidfile::remove_stale(&layout.pgdata)?;
                pidfile::wait_for_orphans(&layout.pgdata, ORPHAN_TIMEOUT);
                (cluster.start()?, true)
            }
        };
        if let Err(e) = wait_for_tcp(port, READY_TIMEOUT) {
            if started {
                let _ = cluster.stop_if_running();
            }
            return Err(e);
        }
        let claim = lock::lock(&data_dir.join(lock::USERS_LOCK), FlockArg::LockShared)?;
        Ok(Self {
            data_dir,
            port,
            password,
            cluster,
            claim: Some(claim),
        })
    }

    /// e.g. postgres://vigil:<password>@127.0.0.1:<port>/<database>  (superuser named `vigil`)
    ///
    /// initdb creates only the databases `postgres`, `template0` and `template1`; any other must
    /// be created (as `vigil`, who may) before connecting to it.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/{}",
            percent_encode(&self.password),
            self.port,
            percent_encode(database)
        )
    }

    /// The password of the login `vigil serve` works as, generated on first use. Unlike the
    /// superuser's it can always be made again: the owner sets it on the login at each start.
    pub fn serving_password(&self) -> Result<String, EmbeddedPgError> {
        password::load_or_create(
            &self.data_dir.join(layout::SERVING_PASSWORD_FILE),
            &self.cluster.pgdata,
            false,
        )
    }

    /// The server's log (inside PGDATA), for reports of what the database said.
    pub fn log_file(&self) -> PathBuf {
        self.cluster.log_file()
    }

    /// The loopback TCP port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the cluster's postmaster is alive.
    pub fn is_running(&self) -> Result<bool, EmbeddedPgError> {
        Ok(pidfile::running(&self.cluster.pgdata)?.is_some())
    }

    /// Starts the cluster again, on its port, if its postmaster died (the OOM killer, `kill -9`);
    /// PostgreSQL's crash recovery replays its write-ahead log, so every committed transaction is
    /// kept. Returns whether it had to. Serialised with other vigil processes' starts and stops,
    /// so two supervisors never both restart it.
    pub fn revive(&self) -> Result<bool, EmbeddedPgError> {
        let _serialised = lock::lock(
            &self.data_dir.join(lock::START_LOCK),
            FlockArg::LockExclusive,
        )?;
        if self.is_running()? {
            return Ok(false);
        }
        pidfile::remove_stale(&self.cluster.pgdata)?;
        pidfile::wait_for_orphans(&self.cluster.pgdata, ORPHAN_TIMEOUT);
        self.cluster.start_on(self.port)?;
        wait_for_tcp(self.port, READY_TIMEOUT)?;
        Ok(true)
    }

    /// Release this process's claim; if no other process holds one, stop the cluster (pg_ctl stop -m fast, wait).
    pub fn stop(mut self) -> Result<(), EmbeddedPgError> {
        self.release()
    }

    fn release(&mut self) -> Result<()> {
        let Some(claim) = self.claim.take() else {
            return Ok(());
        };
        let _serialised = lock::lock(
            &self.data_dir.join(lock::START_LOCK),
            FlockArg::LockExclusive,
        )?;
        if lock::try_upgrade(&claim, &self.data_dir.join(lock::USERS_LOCK))? {
            // A server that died meanwhile (crash, kill -9) simply is not stopped; the next
            // start cleans up after it.
            if !self.cluster.stop_if_running()? {
                tracing::warn!(pgdata = %self.cluster.pgdata.display(), "PostgreSQL was no longer running");
            }
        } else {
            tracing::debug!("PostgreSQL still used by another vigil process; leaving it running");
        }
        Ok(())
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        if let Err(e) = self.release() {
            tracing::warn!(data_dir = %self.data_dir.display(), "stopping embedded PostgreSQL: {e}");
        }
    }
}

/// Shows where and how the cluster runs, never the password.
impl fmt::Debug for EmbeddedPostgres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedPostgres")
            .field("data_dir", &self.data_dir)
            .field("pgdata", &self.cluster.pgdata)
            .field("port", &self.port)
            .field("run_as", &self.cluster.runner.name())
            .field("password", &"<redacted>")
            .field("claimed", &self.claim.is_some())
            .finish()
    }
}

/// Percent-encodes all but RFC 3986's unreserved characters, so any name fits in a URL.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
