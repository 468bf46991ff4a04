//! The cluster's life cycle through PostgreSQL's own tools: `initdb`, `pg_ctl start`, `pg_ctl stop`.

use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread;
use std::time::{Duration, Instant};

use super::binaries::Binaries;
use super::error::{io_err, last_lines, EmbeddedPgError, Result};
use super::pidfile;
use super::privileges::Runner;

/// Settings for a log that is mostly appended to: every event touches nine indexes at scattered
/// places, which outgrow the default shared buffers, and sustained ingest forced a checkpoint
/// every 15-20 s with the default `max_wal_size` (docs/BENCHMARKS.md, "The embedded database's
/// settings"). The WAL may take up to about 4 GB of disk.
///
/// One `vigil serve` holds up to about 45 connections (two pools of 16, the writer's, the
/// fan-out's, catch-up and export reads): two instances (a rolling restart) fill most of the
/// default 100, whose last 3 only superusers may take. The API tests peaked at 74 of 100, and
/// a serving login's ingest in CI once answered 503 for want of a connection.
const WRITE_HEAVY: &str =
    "-c shared_buffers=512MB -c max_wal_size=4GB -c checkpoint_timeout=15min \
                           -c max_connections=200";

/// Name of the cluster's superuser, the role in [`super::EmbeddedPostgres::url`].
pub(crate) const SUPERUSER: &str = "vigil";
/// How many times a start is retried after a transient failure (port taken meanwhile, ...).
const START_ATTEMPTS: u32 = 3;
/// Log lines quoted in a start failure.
const LOG_TAIL_LINES: usize = 20;
/// A log this large is moved to `postgres.log.1` at the next start, so it never grows unbounded.
const LOG_ROTATE_BYTES: u64 = 10 * 1024 * 1024;

/// One PGDATA and the means to run the tools on it.
#[derive(Debug, Clone)]
pub(crate) struct Cluster {
    pub(crate) bins: Binaries,
    pub(crate) runner: Runner,
    /// Canonical PGDATA.
    pub(crate) pgdata: PathBuf,
}

impl Cluster {
    /// The server log. Inside PGDATA because only there is the PostgreSQL account sure to be
    /// allowed to write (the data directory may be root's); root and the owner can read it.
    pub(crate) fn log_file(&self) -> PathBuf {
        self.pgdata.join("postgres.log")
    }

    /// `PG_VERSION` is the last thing of substance initdb writes, and initdb removes a failed attempt.
    pub(crate) fn is_initialised(&self) -> bool {
        self.pgdata.join("PG_VERSION").is_file()
    }

    /// PGDATA's parent: reachable by the account (checked by the layout), so it serves as `HOME`
    /// and as the place for initdb's password file, which must not be inside PGDATA.
    fn home(&self) -> &Path {
        self.pgdata.parent().unwrap_or(Path::new("/tmp"))
    }

    fn tool(&self, name: &str) -> Command {
        self.runner.command(&self.bins.tool(name), self.home())
    }

    /// Creates the cluster: superuser `vigil` with `password`, password (SCRAM) logins over TCP,
    /// peer logins over the (disabled) socket, UTF-8 and no locale (byte order, stable anywhere).
    pub(crate) fn initdb(&self, password: &str) -> Result<()> {
        let pwfile = self
            .home()
            .join(format!(".vigil-initdb-pw-{}", std::process::id()));
        let _cleanup = RemoveOnDrop(pwfile.clone());
        let context = || format!("writing initdb password file {}", pwfile.display());
        let _ = fs::remove_file(&pwfile);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&pwfile)
            .map_err(io_err(context()))?;
        writeln!(file, "{password}").map_err(io_err(context()))?;
        drop(file);
        self.runner.give(&pwfile)?;

        let mut pwfile_arg = OsString::from("--pwfile=");
        pwfile_arg.push(&pwfile);
        let mut cmd = self.tool("initdb");
        cmd.arg("-D")
            .arg(&self.pgdata)
            .args(["-U", SUPERUSER])
            .arg(pwfile_arg)
            .args(["--auth-host=scram-sha-256", "--auth-local=peer"])
            .args(["--no-locale", "-E", "UTF8"]);
        let started = Instant::now();
        run(&mut cmd, "initdb")?;
        tracing::info!(pgdata = %self.pgdata.display(), elapsed = ?started.elapsed(), "created PostgreSQL cluster");
        Ok(())
    }

    /// Starts the server on a free loopback port and returns that port.
    ///
    /// The port of the previous start is preferred while it is free, so connections that outlive
    /// a database restart (a running vigil's pool) find the server again. Otherwise the port is
    /// found by binding `127.0.0.1:0` and closing it again, so another program may take it in
    /// between; that and other transient failures are retried with a new port.
    pub(crate) fn start(&self) -> Result<u16> {
        let port_file = self.home().join("pg-port");
        let previous = fs::read_to_string(&port_file)
            .ok()
            .and_then(|s| s.trim().parse::<u16>().ok());
        self.start_choosing(
            |attempt| match previous.filter(|p| attempt == 1 && port_is_free(*p)) {
                Some(port) => Ok(port),
                None => free_port(),
            },
        )
    }

    /// Starts the server again on `port`, the one every open pool connects to: after a crash,
    /// the port is free again once the dead postmaster's sockets are gone (retried meanwhile).
    pub(crate) fn start_on(&self, port: u16) -> Result<()> {
        self.start_choosing(|_| Ok(port)).map(|_| ())
    }

    fn start_choosing(&self, choose: impl Fn(u32) -> Result<u16>) -> Result<u16> {
        self.rotate_log();
        let log = self.log_file();
        let port_file = self.home().join("pg-port");
        for attempt in 1..=START_ATTEMPTS {
            let port = choose(attempt)?;
            let log_start = fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
            // No Unix socket: nothing depends on /var/run/postgresql existing or on the
            // 107-byte socket path limit; `pg_ctl -w` watches postmaster.pid, not a socket.
            let options = format!(
                "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' {WRITE_HEAVY}"
            );
            let mut cmd = self.tool("pg_ctl");
            cmd.arg("-D").arg(&self.pgdata);
            cmd.args(["-w", "-t", "60", "-l"]).arg(&log);
            cmd.args(["-o", &options, "start"]);
            // Its own process group: a Ctrl-C meant for this vigil must not reach a server
            // that other vigil processes may still be using.
            cmd.process_group(0);
            let out = cmd.output().map_err(io_err("running pg_ctl start"))?;
            if out.status.success() {
                if let Err(err) = fs::write(&port_file, port.to_string()) {
                    tracing::debug!(%err, "could not remember the PostgreSQL port");
                }
                tracing::info!(port, pgdata = %self.pgdata.display(), "started PostgreSQL");
                return Ok(port);
            }
            let new_log = read_from(&log, log_start);
            let transient = [
                "could not bind",
                "Address already in use",
                "pre-existing shared",
            ]
            .iter()
            .any(|s| new_log.contains(s));
            if transient && attempt < START_ATTEMPTS {
                tracing::warn!(
                    port,
                    attempt,
                    "PostgreSQL failed to start; retrying: {}",
                    last_lines(&new_log, 3)
                );
                thread::sleep(Duration::from_millis(500));
                continue;
            }
            // `pg_ctl -w` gives up after its timeout while the server may go on starting.
            if let Err(e) = self.stop_if_running() {
                tracing::warn!("could not stop the half-started PostgreSQL: {e}");
            }
            return Err(EmbeddedPgError::StartFailed {
                reason: format!("pg_ctl start {}: {}", out.status, stderr_tail(&out, 3)),
                log: log.clone(),
                log_tail: last_lines(&read_from(&log, 0), LOG_TAIL_LINES),
            });
        }
        unreachable!("the last attempt returns")
    }

    /// Stops the server if one runs: `fast` ends sessions (rolling back their transactions) and
    /// shuts down cleanly, and `-w` waits until it is gone, so a following start finds it stopped.
    /// Returns whether there was a server to stop.
    pub(crate) fn stop_if_running(&self) -> Result<bool> {
        if pidfile::running(&self.pgdata)?.is_none() {
            return Ok(false);
        }
        let mut cmd = self.tool("pg_ctl");
        cmd.arg("-D").arg(&self.pgdata);
        cmd.args(["-m", "fast", "-w", "-t", "60", "stop"]);
        run(&mut cmd, "pg_ctl stop")?;
        tracing::info!(pgdata = %self.pgdata.display(), "stopped PostgreSQL");
        Ok(true)
    }

    fn rotate_log(&self) {
        let log = self.log_file();
        if fs::metadata(&log).is_ok_and(|m| m.len() > LOG_ROTATE_BYTES) {
            let _ = fs::rename(&log, log.with_extension("log.1"));
        }
    }
}

/// Runs a tool to completion; a failure carries the end of its error output.
fn run(cmd: &mut Command, what: &str) -> Result<Output> {
    let out = cmd.output().map_err(io_err(format!("running {what}")))?;
    if out.status.success() {
        return Ok(out);
    }
    Err(EmbeddedPgError::Command {
        what: what.to_owned(),
        status: out.status.to_string(),
        stderr_tail: stderr_tail(&out, LOG_TAIL_LINES),
    })
}

fn stderr_tail(out: &Output, lines: usize) -> String {
    let text = String::from_utf8_lossy(&out.stderr);
    let text = if text.trim().is_empty() {
        String::from_utf8_lossy(&out.stdout)
    } else {
        text
    };
    last_lines(&text, lines)
}

/// The text of `path` from byte `offset` on (empty if unreadable): what one start attempt logged.
fn read_from(path: &Path, offset: u64) -> String {
    let mut bytes = Vec::new();
    if let Ok(mut file) = fs::File::open(path) {
        if file.seek(SeekFrom::Start(offset)).is_ok() {
            let _ = file.read_to_end(&mut bytes);
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// A loopback port that was free a moment ago.
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(io_err("finding a free port on 127.0.0.1"))?;
    let port = listener
        .local_addr()
        .map_err(io_err("finding a free port on 127.0.0.1"))?
        .port();
    Ok(port)
}

/// Waits until `127.0.0.1:port` accepts TCP connections, for at most `timeout`.
///
/// `pg_ctl -w` already waits for the server to report readiness; this also covers attaching to
/// a server started by another process, and proves the port really is the one it listens on.
pub(crate) fn wait_for_tcp(port: u16, timeout: Duration) -> Result<()> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + timeout;
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(EmbeddedPgError::NotReady {
                port,
                waited_secs: timeout.as_secs(),
            });
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Deletes a file when dropped, so initdb's copy of the password never outlives the call.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}
