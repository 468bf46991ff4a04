//! The `vigil` binary end to end: `serve` on the embedded default database, another command on the
//! same data directory, and a clean stop on SIGTERM.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const VIGIL: &str = env!("CARGO_BIN_EXE_vigil");

/// An empty data directory. A server left running by an earlier, aborted run is stopped first
/// (attaching as the only user and letting go stops it), so no orphan outlives its files.
pub fn fresh_data_dir(name: &str) -> PathBuf {
    crate::common::watchdog::watch(None);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    if dir.join("pg/postmaster.pid").exists() {
        if let Ok(leftover) = vigil_server::embedded_pg::EmbeddedPostgres::start(&dir) {
            let _ = leftover.stop();
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Runs `vigil ARGS --data-dir DIR` to completion and returns its stdout.
pub async fn vigil(args: &[&str], data_dir: &Path) -> String {
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        Command::new(VIGIL)
            .args(args)
            .arg("--data-dir")
            .arg(data_dir)
            .output(),
    )
    .await
    .expect("the command finishes")
    .expect("vigil runs");
    assert!(
        output.status.success(),
        "vigil {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

async fn db_status(data_dir: &Path) -> String {
    vigil(&["db", "status"], data_dir).await
}

/// Starts `vigil serve` and returns it with the URL it printed and, on a fresh data directory,
/// the first ingest key it created.
pub async fn serve(data_dir: &Path) -> (Child, String, Option<String>) {
    serve_with(data_dir, Stdio::inherit(), &[]).await
}

/// `vigil serve ARGS` on the fresh data directory `name`, its log (stderr) going to a file in
/// it: the server, its URL, its first key, the data directory and the log's path.
pub async fn serve_logging_to_file(
    name: &str,
    args: &[&str],
) -> (Child, String, Option<String>, PathBuf, PathBuf) {
    let data_dir = fresh_data_dir(name);
    std::fs::create_dir_all(&data_dir).unwrap();
    let log_path = data_dir.join("serve.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let (server, url, key) = serve_with(&data_dir, log.into(), args).await;
    (server, url, key, data_dir, log_path)
}

/// Like `serve`, with its log (stderr) going to `log` and more arguments for `vigil serve`.
async fn serve_with(data_dir: &Path, log: Stdio, args: &[&str]) -> (Child, String, Option<String>) {
    let mut child = Command::new(VIGIL)
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect("vigil starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut first_key = None;
    let url = tokio::time::timeout(Duration::from_secs(90), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(key) = line.strip_prefix("Created ingest key `default` (shown only now): ")
            {
                first_key = Some(key.trim().to_owned());
            }
            if let Some(url) = line.strip_prefix("Vigil dashboard: ") {
                return url.trim_end_matches('/').to_owned();
            }
        }
        panic!("vigil exited before printing its URL");
    })
    .await
    .expect("vigil prints its URL");
    (child, url, first_key)
}

/// SIGTERM, as a service manager would send, and a clean exit within 30 s.
pub async fn terminate(mut server: Child) {
    let pid = nix::unistd::Pid::from_raw(server.id().unwrap() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), server.wait())
        .await
        .expect("vigil stops on SIGTERM")
        .unwrap();
    assert!(status.success(), "clean exit: {status}");
}

pub async fn post(url: &str, key: &str) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(format!("{url}/api/v1/events"))
        .bearer_auth(key)
        .json(&serde_json::json!({"event_type": "auth.logout", "username": "dave"}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn serve_and_other_commands_share_the_embedded_cluster_and_stop_it() {
    let data_dir = fresh_data_dir("cli-shared-cluster");
    let (server, url, first_key) = serve(&data_dir).await;
    let first_key = first_key.expect("a fresh embedded database gets a first ingest key");
    assert_eq!(post(&url, &first_key).await, 201);

    // While serve runs, another command attaches to its cluster and leaves it running.
    let status = db_status(&data_dir).await;
    assert!(status.contains("events: 1"), "{status}");
    // What the event log takes on disk, part by part: rows, each index, each aggregate.
    for part in [
        "events ",
        "events_occurred_idx",
        "event_counts",
        "failure_windows",
    ] {
        assert!(
            status
                .lines()
                .any(|l| l.trim_start().starts_with(part) && l.ends_with("bytes per event")),
            "{part}: {status}"
        );
    }
    let health = reqwest::get(format!("{url}/healthz")).await.unwrap();
    assert_eq!(health.status(), 200, "serve still has its database");

    terminate(server).await;
    assert!(
        !data_dir.join("pg/postmaster.pid").exists(),
        "the cluster was stopped"
    );

    // With nothing running, a command starts the cluster itself, finds the data, stops it again.
    assert!(db_status(&data_dir).await.contains("events: 1"));
    assert!(!data_dir.join("pg/postmaster.pid").exists());

    // The chain of what was stored holds; a broken one fails the command (see tests/chain.rs).
    let verified = vigil(&["verify"], &data_dir).await;
    assert!(
        verified.contains("verified through seq 1 "),
        "unexpected output: {verified}"
    );
}

#[tokio::test]
async fn keys_are_created_listed_and_revoked_from_the_command_line() {
    let data_dir = fresh_data_dir("cli-keys");
    let (server, url, _) = serve(&data_dir).await;

    let key = vigil(&["keys", "create", "--name", "billing"], &data_dir).await;
    let key = key.strip_suffix('\n').expect("the key alone on one line");
    assert!(
        key.starts_with("vigil_") && !key.contains(' '),
        "stdout holds only the key: {key:?}"
    );
    assert_eq!(post(&url, key).await, 201);

    let listed = vigil(&["keys", "list"], &data_dir).await;
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("billing ") && l.contains("ingest")),
        "{listed}"
    );
    assert!(!listed.contains(key), "the key itself is never listed");

    vigil(&["keys", "revoke", "billing"], &data_dir).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while post(&url, key).await != 401 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "revoked key still accepted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    terminate(server).await;
}

#[tokio::test]
async fn operators_are_managed_from_the_command_line_with_the_password_on_stdin() {
    use tokio::io::AsyncWriteExt;
    let data_dir = fresh_data_dir("cli-users");
    let mut create = Command::new(VIGIL)
        .args([
            "users",
            "create",
            "--username",
            "sam",
            "--role",
            "viewer",
            "--data-dir",
        ])
        .arg(&data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    create
        .stdin
        .take()
        .unwrap()
        .write_all(b"a-long-password\n")
        .await
        .unwrap();
    let output = tokio::time::timeout(Duration::from_secs(60), create.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!String::from_utf8_lossy(&output.stdout).contains("a-long-password"));

    let listed = vigil(&["users", "list"], &data_dir).await;
    assert!(listed
        .lines()
        .any(|l| l.starts_with("sam ") && l.contains("viewer") && l.trim_end().ends_with('-')));
    vigil(&["users", "disable", "sam"], &data_dir).await;
    let listed = vigil(&["users", "list"], &data_dir).await;
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("sam ") && !l.trim_end().ends_with('-')),
        "{listed}"
    );
}

#[tokio::test]
async fn hostile_usernames_and_user_agents_are_escaped_and_truncated_in_the_log() {
    let (server, url, _, _, log_path) = serve_logging_to_file("cli-log-escaping", &[]).await;
    let forged = "2026-01-01T00:00:00Z  INFO vigil: admin signed in";
    let username = format!("mallory\n{forged}\u{1b}[2J{}", "A".repeat(500));
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{url}/auth/login"))
        .header(
            "user-agent",
            format!("agent\" level=ERROR {}", "B".repeat(500)),
        )
        .form(&[("username", username.as_str()), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    terminate(server).await;
    let log = std::fs::read_to_string(&log_path).unwrap();
    let line = (log.lines())
        .find(|line| line.contains("dashboard sign-in"))
        .unwrap_or_else(|| panic!("the sign-in is logged: {log}"));
    assert!(line.contains("mallory\\n2026-01-01"), "escaped: {line}");
    assert!(
        !log.lines().any(|l| l.starts_with(forged)),
        "no forged line: {log}"
    );
    assert!(!log.contains('\u{1b}'), "no raw escape sequence");
    assert!(
        line.contains("user_agent=agent\\\" level=ERROR"),
        "quotes escaped: {line}"
    );
    assert!(
        !log.contains(&"A".repeat(100)) && !log.contains(&"B".repeat(100)),
        "truncated"
    );
    assert!(line.contains("chars)"), "says it cut: {line}");
}

/// Issue 17, item 11: `kill -9` of the embedded postmaster (what the OOM killer does): vigil
/// restarts its cluster, keeps every acknowledged event and serves again, and says so.
#[tokio::test]
async fn a_killed_embedded_postgres_is_restarted_and_nothing_acknowledged_is_lost() {
    let (server, url, key, data_dir, log_path) =
        serve_logging_to_file("cli-supervised-cluster", &[]).await;
    let key = key.expect("a first ingest key");
    for _ in 0..20 {
        assert_eq!(post(&url, &key).await, 201);
    }
    let pid_file = std::fs::read_to_string(data_dir.join("pg/postmaster.pid")).unwrap();
    let postmaster: i32 = pid_file.lines().next().unwrap().trim().parse().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(postmaster),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    // Backends outlive their postmaster for a moment and may still commit: every 201 counts.
    let mut acknowledged = 20;
    let restarted = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let pid = std::fs::read_to_string(data_dir.join("pg/postmaster.pid"))
                .ok()
                .and_then(|text| text.lines().next()?.trim().parse::<i32>().ok());
            if pid.is_some_and(|pid| pid != postmaster) {
                return;
            }
            if post(&url, &key).await == 201 {
                acknowledged += 1;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(
        restarted.is_ok(),
        "a new postmaster within a minute of the kill"
    );
    let back = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if post(&url, &key).await == 201 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(back.is_ok(), "ingest is back once the cluster is");
    acknowledged += 1;
    terminate(server).await;
    let status = db_status(&data_dir).await;
    assert!(
        status
            .lines()
            .any(|line| line == format!("events: {acknowledged}")),
        "every acknowledged event ({acknowledged}) is stored: {status}"
    );
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains("the embedded PostgreSQL is not running; restarting it")
            && log.contains("restarted the embedded PostgreSQL"),
        "{log}"
    );
}
