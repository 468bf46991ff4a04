//! Reading `postmaster.pid` and `/proc` to tell a live cluster from the leftovers of a dead one.

use std::fs;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use super::error::{io_err, EmbeddedPgError, Result};

/// A postmaster that is alive and serves our PGDATA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Running {
    pub(crate) pid: i32,
    pub(crate) port: u16,
}

pub(crate) fn pid_file(pgdata: &Path) -> PathBuf {
    pgdata.join("postmaster.pid")
}

/// The postmaster serving `pgdata` (canonical), if one is alive.
///
/// A pid file alone proves nothing: after a crash or `kill -9` it stays behind, and its pid may
/// since have been reused by an unrelated process. So the pid must name a live `postgres` process
/// whose working directory is `pgdata` (the postmaster `chdir`s there), and the pid file's own data
/// directory line must match too. Line 4 of the file is the port (documented in `miscadmin.h`).
pub(crate) fn running(pgdata: &Path) -> Result<Option<Running>> {
    let path = pid_file(pgdata);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(format!("reading {}", path.display()))(e)),
    };
    let lines: Vec<&str> = text.lines().collect();
    let Some(pid) = lines.first().and_then(|l| l.trim().parse::<i32>().ok()) else {
        return Ok(None); // Half-written or garbage: no live postmaster wrote it completely.
    };
    let dir_matches = lines
        .get(1)
        .and_then(|l| fs::canonicalize(l.trim()).ok())
        .is_some_and(|dir| dir == pgdata);
    if pid <= 0 || !dir_matches || !is_postgres_in(pid, pgdata) {
        return Ok(None);
    }
    let port = lines.get(3).and_then(|l| l.trim().parse::<u16>().ok());
    match port {
        Some(port) if port > 0 => Ok(Some(Running { pid, port })),
        _ => Err(EmbeddedPgError::Invalid(format!(
            "PostgreSQL (pid {pid}) runs on {} but {} names no port yet; \
             was it started by hand? Stop it (pg_ctl stop) and start vigil again",
            pgdata.display(),
            path.display()
        ))),
    }
}

/// Whether `pid` is a live (not zombie) `postgres` process working in `pgdata`.
///
/// A zombie or a process of another user (as non-root) has no readable `cwd`, so it never counts.
fn is_postgres_in(pid: i32, pgdata: &Path) -> bool {
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    let comm = fs::read_to_string(proc_dir.join("comm")).unwrap_or_default();
    matches!(comm.trim(), "postgres" | "postmaster")
        && fs::read_link(proc_dir.join("cwd")).is_ok_and(|cwd| cwd == pgdata)
}

/// Deletes the pid file of a postmaster that [`running`] found dead, so that the next start
/// cannot mistake a recycled pid for a live server. Safe because the real interlock against two
/// servers on one PGDATA is the shared-memory check, which PostgreSQL does on every start
/// independently of this file (it finds the old segment from the directory's inode).
pub(crate) fn remove_stale(pgdata: &Path) -> Result<()> {
    let path = pid_file(pgdata);
    match fs::remove_file(&path) {
        Ok(()) => {
            tracing::warn!(path = %path.display(), "removed stale postmaster.pid of a dead PostgreSQL");
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(format!("removing stale {}", path.display()))(e)),
    }
}

/// Waits (up to `timeout`) until no `postgres` process works in `pgdata` any more.
///
/// When the postmaster is killed (`kill -9`), its children notice within moments and exit, but
/// until they do they keep its shared memory attached and a new postmaster refuses to start
/// ("pre-existing shared memory block is still in use"). This waits on that condition instead of
/// failing; after the timeout the start is attempted anyway and PostgreSQL's own error reported.
pub(crate) fn wait_for_orphans(pgdata: &Path, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let orphans = orphan_pids(pgdata);
        if orphans.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            tracing::warn!(
                ?orphans,
                "old PostgreSQL processes still running; starting anyway"
            );
            return;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

fn orphan_pids(pgdata: &Path) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| is_postgres_in(pid, pgdata))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_or_foreign_pids_are_not_running() {
        let dir = tempfile::tempdir().unwrap();
        let pgdata = dir.path().canonicalize().unwrap();
        assert_eq!(running(&pgdata).unwrap(), None);
        // Our own pid is alive but is not a postgres working in pgdata: a recycled pid.
        let me = std::process::id();
        let text = format!(
            "{me}\n{}\n0\n5432\n\n127.0.0.1\n0 0\nready\n",
            pgdata.display()
        );
        fs::write(pid_file(&pgdata), text).unwrap();
        assert_eq!(running(&pgdata).unwrap(), None);
        fs::write(pid_file(&pgdata), "garbage").unwrap();
        assert_eq!(running(&pgdata).unwrap(), None);
        remove_stale(&pgdata).unwrap();
        assert!(!pid_file(&pgdata).exists());
        remove_stale(&pgdata).unwrap();
    }
}
