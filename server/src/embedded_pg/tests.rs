//! Tests of the embedded cluster against the real PostgreSQL binaries of the machine (no mocks).
//!
//! They pass as root (the PostgreSQL tools then run as `postgres`/`nobody`; a data directory of
//! mode 700 forces the fallback PGDATA under /var/lib/vigil/clusters) and as any other user.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use sqlx::PgPool;

use super::layout::{FALLBACK_ROOT, PASSWORD_FILE, PGDATA_LINK};
use super::pidfile;
use super::EmbeddedPostgres;

/// A temporary data directory that also deletes its fallback cluster (root only), which lives
/// outside it. Declare it before the handles so that it is dropped after them.
struct Scratch(tempfile::TempDir);

impl Scratch {
    fn new() -> Self {
        Self(tempfile::tempdir().expect("temp dir"))
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    /// The real PGDATA, following the `pg` symlink if there is one.
    fn pgdata(&self) -> PathBuf {
        fs::canonicalize(self.path().join(PGDATA_LINK)).expect("pgdata")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Ok(target) = fs::read_link(self.path().join(PGDATA_LINK)) {
            if let (true, Some(parent)) = (target.starts_with(FALLBACK_ROOT), target.parent()) {
                let _ = fs::remove_dir_all(parent);
            }
        }
    }
}

async fn scalar<T>(url: &str, sql: &str) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
{
    let pool = PgPool::connect(url).await.expect("connect");
    let value = sqlx::query_scalar(sql).fetch_one(&pool).await.expect(sql);
    pool.close().await;
    value
}

async fn execute(url: &str, sql: &str) {
    let pool = PgPool::connect(url).await.expect("connect");
    sqlx::query(sql).execute(&pool).await.expect(sql);
    pool.close().await;
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

#[tokio::test]
async fn fresh_start_serves_queries_then_stops() {
    let dir = Scratch::new();
    // Private, as under /root: as root, PGDATA must then go to the fallback outside it.
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
    let pg = EmbeddedPostgres::start(dir.path()).expect("start");
    let url = pg.url("postgres");
    assert_eq!(scalar::<i32>(&url, "select 1").await, 1);
    // Only TCP on loopback: no Unix socket anywhere.
    assert_eq!(
        scalar::<String>(&url, "show unix_socket_directories").await,
        ""
    );
    assert_eq!(
        scalar::<String>(&url, "show listen_addresses").await,
        "127.0.0.1"
    );

    let pgdata = dir.pgdata();
    let live = pidfile::running(&pgdata).unwrap().expect("running");
    assert_eq!(live.port, pg.port());

    let password_file = dir.path().join(PASSWORD_FILE);
    let password = fs::read_to_string(&password_file)
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(password.len(), 32);
    assert!(password.chars().all(|c| c.is_ascii_alphanumeric()));
    let meta = fs::metadata(&password_file).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.uid(), nix::unistd::geteuid().as_raw());
    let expected = format!(
        "postgres://vigil:{password}@127.0.0.1:{}/postgres",
        pg.port()
    );
    assert_eq!(url, expected);
    let debug = format!("{pg:?}");
    assert!(
        !debug.contains(&password) && debug.contains("redacted"),
        "{debug}"
    );

    let pg_meta = fs::metadata(&pgdata).unwrap();
    assert_eq!(pg_meta.permissions().mode() & 0o777, 0o700);
    if is_root() {
        let link = fs::symlink_metadata(dir.path().join(PGDATA_LINK)).unwrap();
        assert!(link.file_type().is_symlink());
        assert!(pgdata.starts_with(FALLBACK_ROOT), "{}", pgdata.display());
        assert_ne!(pg_meta.uid(), 0, "PGDATA must not be root's");
    }

    pg.stop().expect("stop");
    assert!(!pidfile::pid_file(&pgdata).exists(), "server still running");
}

#[tokio::test]
async fn second_start_attaches_and_the_last_user_stops_it() {
    let dir = Scratch::new();
    let first = EmbeddedPostgres::start(dir.path()).expect("first start");
    let second = EmbeddedPostgres::start(dir.path()).expect("second start");
    assert_eq!(first.port(), second.port());
    assert_eq!(first.url("postgres"), second.url("postgres"));

    drop(second);
    assert_eq!(scalar::<i32>(&first.url("postgres"), "select 1").await, 1);

    let pid_file = pidfile::pid_file(&dir.pgdata());
    assert!(pid_file.exists());
    drop(first);
    assert!(!pid_file.exists(), "the last user must stop the server");
}

#[tokio::test]
async fn restart_keeps_data_and_password() {
    let dir = Scratch::new();
    // Searchable by everyone: as root, PGDATA then stays inside the data directory itself.
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o711)).unwrap();
    let pg = EmbeddedPostgres::start(dir.path()).expect("start");
    let url = pg.url("postgres");
    execute(&url, "create table kept (v text)").await;
    execute(&url, "insert into kept values ('still here')").await;
    let password = fs::read_to_string(dir.path().join(PASSWORD_FILE)).unwrap();
    let link = fs::symlink_metadata(dir.path().join(PGDATA_LINK)).unwrap();
    assert!(
        link.is_dir(),
        "a reachable data directory holds PGDATA itself"
    );
    pg.stop().expect("stop");

    let pg = EmbeddedPostgres::start(dir.path()).expect("restart");
    let after = fs::read_to_string(dir.path().join(PASSWORD_FILE)).unwrap();
    assert_eq!(password, after);
    let kept: String = scalar(&pg.url("postgres"), "select v from kept").await;
    assert_eq!(kept, "still here");
    pg.stop().expect("stop");
}

#[tokio::test]
async fn killed_server_is_cleaned_up_and_restarted() {
    let dir = Scratch::new();
    let pg = EmbeddedPostgres::start(dir.path()).expect("start");
    let pgdata = dir.pgdata();
    let live = pidfile::running(&pgdata).unwrap().expect("running");
    kill(Pid::from_raw(live.pid), Signal::SIGKILL).unwrap();
    // Wait until the kernel has taken it down (it may linger as a zombie, which counts as dead).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while pidfile::running(&pgdata).unwrap().is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "postmaster survived SIGKILL"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        pidfile::pid_file(&pgdata).exists(),
        "a killed server leaves its pid file"
    );
    drop(pg); // Must not panic; the server is gone already.

    let pg = EmbeddedPostgres::start(dir.path()).expect("start after kill -9");
    assert_eq!(scalar::<i32>(&pg.url("postgres"), "select 1").await, 1);
    pg.stop().expect("stop");
}

#[test]
fn concurrent_first_starts_share_one_cluster() {
    let dir = Scratch::new();
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| EmbeddedPostgres::start(dir.path()).expect("start a"));
        let b = s.spawn(|| EmbeddedPostgres::start(dir.path()).expect("start b"));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(a.port(), b.port());
    a.stop().expect("stop a");
    b.stop().expect("stop b");
    assert!(!pidfile::pid_file(&dir.pgdata()).exists());
}
