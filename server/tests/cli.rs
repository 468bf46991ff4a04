//! The `vigil` binary end to end: `serve` on the embedded default database, another command on the
//! same data directory, and a clean stop on SIGTERM.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const VIGIL: &str = env!("CARGO_BIN_EXE_vigil");

fn fresh_data_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

async fn db_status(data_dir: &Path) -> String {
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        Command::new(VIGIL)
            .args(["db", "status", "--data-dir"])
            .arg(data_dir)
            .output(),
    )
    .await
    .expect("db status finishes")
    .expect("vigil runs");
    assert!(
        output.status.success(),
        "db status failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Starts `vigil serve` and returns it with the URL it printed.
async fn serve(data_dir: &Path) -> (Child, String) {
    let mut child = Command::new(VIGIL)
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("vigil starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(90), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.strip_prefix("Vigil dashboard: ") {
                return url.trim_end_matches('/').to_owned();
            }
        }
        panic!("vigil exited before printing its URL");
    })
    .await
    .expect("vigil prints its URL");
    (child, url)
}

#[tokio::test]
async fn serve_and_other_commands_share_the_embedded_cluster_and_stop_it() {
    let data_dir = fresh_data_dir("cli-shared-cluster");
    let (mut server, url) = serve(&data_dir).await;

    let response = reqwest::Client::new()
        .post(format!("{url}/api/v1/events"))
        .json(&serde_json::json!({"event_type": "auth.logout", "username": "dave"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);

    // While serve runs, another command attaches to its cluster and leaves it running.
    assert!(db_status(&data_dir).await.contains("events: 1"));
    let health = reqwest::get(format!("{url}/healthz")).await.unwrap();
    assert_eq!(health.status(), 200, "serve still has its database");

    let pid = nix::unistd::Pid::from_raw(server.id().unwrap() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), server.wait())
        .await
        .expect("vigil stops on SIGTERM")
        .unwrap();
    assert!(status.success(), "clean exit: {status}");
    assert!(
        !data_dir.join("pg/postmaster.pid").exists(),
        "the cluster was stopped"
    );

    // With nothing running, a command starts the cluster itself, finds the data, stops it again.
    assert!(db_status(&data_dir).await.contains("events: 1"));
    assert!(!data_dir.join("pg/postmaster.pid").exists());
}
