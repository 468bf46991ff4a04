//! The auditor's procedure from the command line: `vigil serve` signs into its data directory,
//! `vigil chain public-key` gives the key to check with, `vigil verify --checkpoints` checks.

use std::os::unix::fs::PermissionsExt;

use crate::cli::{fresh_data_dir, post, serve, terminate, vigil};

#[tokio::test]
async fn serve_signs_checkpoints_outside_the_database_and_verify_checks_against_them() {
    let data_dir = fresh_data_dir("cli-checkpoints");
    let (server, url, key) = serve(&data_dir).await;
    assert_eq!(post(&url, &key.expect("a first ingest key")).await, 201);
    terminate(server).await;

    let key_file = std::fs::metadata(data_dir.join("signing-key")).unwrap();
    assert_eq!(key_file.permissions().mode() & 0o777, 0o600);
    let public_key = vigil(&["chain", "public-key"], &data_dir).await;
    let public_key = public_key.trim();
    assert!(public_key.len() == 64 && public_key.bytes().all(|b| b.is_ascii_hexdigit()));
    // `serve` signs once at start: before the post (seq 0) or, on a busy machine, after it.
    let signed = vigil(&["chain", "checkpoint"], &data_dir).await;
    let signed_now = signed.starts_with("signed seq 1 ");
    assert!(signed_now || signed.contains("already covers"), "{signed}");
    let again = vigil(&["chain", "checkpoint"], &data_dir).await;
    assert!(again.contains("already covers"), "{again}");
    let checkpoints = if signed_now { 2 } else { 1 };

    let log = data_dir.join("checkpoints.jsonl");
    let log = log.to_str().unwrap();
    let verified = vigil(
        &["verify", "--checkpoints", log, "--public-key", public_key],
        &data_dir,
    )
    .await;
    assert!(
        verified.contains(&format!(
            "passes through every signed checkpoint: {checkpoints} matched"
        )),
        "the start-up checkpoint and seq 1: {verified}"
    );

    let reserved = tokio::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["keys", "create", "--name", "Vigil", "--data-dir"])
        .arg(&data_dir)
        .output()
        .await
        .unwrap();
    assert!(!reserved.status.success());
    let stderr = String::from_utf8_lossy(&reserved.stderr);
    assert!(
        stderr.contains("reserved for Vigil's own events"),
        "{stderr}"
    );
}
