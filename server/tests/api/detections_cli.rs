//! The detection commands: `vigil rules check` names the rule, field and reason; `rules list`
//! shows each rule's state and alerts; `vigil detect --since --dry-run` replays history.

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::common::TestApp;
use crate::detections::{at, failure, judged};

#[tokio::test]
async fn the_command_line_checks_lists_and_replays_rules() {
    let vigil = env!("CARGO_BIN_EXE_vigil");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[override.brute-force-ip]\ncount = 0\n").unwrap();
    let checked = std::process::Command::new(vigil)
        .args(["rules", "check"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!checked.status.success());
    let stderr = String::from_utf8_lossy(&checked.stderr);
    assert!(
        stderr.contains("rule `brute-force-ip`: `count` must be 1–1000"),
        "{stderr}"
    );
    let good = dir.path().join("good.toml");
    std::fs::write(&good, "[override.mfa-disabled]\nenabled = false\n").unwrap();
    let checked = std::process::Command::new(vigil)
        .args(["rules", "check"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(checked.status.success());
    assert!(String::from_utf8_lossy(&checked.stdout).contains("9 rules, 8 enabled"));

    let app = TestApp::spawn().await;
    let url = app
        .database
        .pool
        .connect_options()
        .get_database()
        .map(str::to_owned)
        .unwrap();
    let owner_url = crate::common::bare_database_url().await;
    let database_url = format!("{}/{url}", owner_url.rsplit_once('/').unwrap().0);
    let base = Utc::now() - Duration::minutes(5);
    let attack: Vec<Value> = (0..8)
        .map(|n| failure("198.51.100.80", "z", at(base, n)))
        .collect();
    app.ingest(&json!(attack)).await;
    judged(&app).await;
    let run = |args: &[&str]| {
        let output = std::process::Command::new(vigil)
            .args(args)
            .env("DATABASE_URL", &database_url)
            .arg("--data-dir")
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let listed = run(&["rules", "list"]);
    assert_eq!(
        listed.lines().count(),
        10,
        "a header and nine rules: {listed}"
    );
    let brute = listed
        .lines()
        .find(|l| l.starts_with("brute-force-ip"))
        .unwrap();
    assert!(
        brute.contains("enabled") && brute.contains(" 1 "),
        "{brute}"
    );
    let replayed = run(&["detect", "--since", "1h", "--dry-run"]);
    assert!(
        replayed.contains("brute-force-ip") && replayed.contains("ip=198.51.100.80"),
        "{replayed}"
    );
    assert!(
        replayed.contains("1 alerts over 8 events (dry run"),
        "{replayed}"
    );
}
