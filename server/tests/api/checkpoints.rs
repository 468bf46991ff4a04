//! Signed checkpoints (issue 21): a superuser who edits an event and recomputes every later hash
//! and the head passes plain verification, and fails against the checkpoints signed before.

use crate::common::{self, TestApp};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use vigil_server::checkpoints::{self, CheckpointLog, Checkpointer};
use vigil_server::events::chain::{to_hex, ChainLink};
use vigil_server::storage::{EventStore, KeyKind};
use vigil_wire::SignedCheckpoint;

/// An app that signs into `dir` (its own start-up checkpoint included).
async fn signing_app(dir: &Path) -> TestApp {
    let (key, log) = (dir.join("signing-key"), dir.join("checkpoints.jsonl"));
    TestApp::spawn_with(|args| {
        args.checkpoints.signing_key = Some(key);
        args.checkpoints.checkpoint_log = Some(log);
    })
    .await
}

/// `vigil chain checkpoint` on the app's files: signs the head now.
async fn checkpoint_now(app: &TestApp, dir: &Path) -> SignedCheckpoint {
    let signer =
        Checkpointer::open(&dir.join("signing-key"), &dir.join("checkpoints.jsonl")).unwrap();
    let store = EventStore::new(app.database.pool.clone());
    signer
        .sign_head(&store)
        .await
        .unwrap()
        .expect("the head moved")
}

/// As the database's superuser: triggers off, `username` of `seq` changed, and every hash
/// from it through the head recomputed, so the stored chain is consistent again.
async fn rewrite_history(app: &TestApp, seq: i64) {
    let store = EventStore::new(app.database.pool.clone());
    let head = store.chain_head().await.unwrap();
    let before: Vec<u8> = sqlx::query_scalar("select hash from events where seq = $1")
        .bind(seq - 1)
        .fetch_one(&app.database.pool)
        .await
        .unwrap();
    let mut events = store.seq_range(seq, head.seq).await.unwrap();
    events[0].username = Some("mallory".into());
    let mut link = ChainLink {
        seq: seq - 1,
        hash: before.try_into().unwrap(),
    };
    let mut tx = app.database.pool.begin().await.unwrap();
    sqlx::query("set local session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("update events set username = 'mallory' where seq = $1")
        .bind(seq)
        .execute(&mut *tx)
        .await
        .unwrap();
    for event in &events {
        link = link.next(event);
        sqlx::query("update events set hash = $1 where seq = $2")
            .bind(link.hash.to_vec())
            .bind(link.seq)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    sqlx::query("update chain_head set hash = $1")
        .bind(link.hash.to_vec())
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_rewrite_with_recomputed_hashes_passes_plain_verify_and_fails_the_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let app = signing_app(dir.path()).await;
    let event = |name: &str| json!({"event_type": "auth.login.failure", "username": name});
    for name in ["a", "b", "c", "d", "e"] {
        app.ingest(&event(name)).await;
    }
    let first = checkpoint_now(&app, dir.path()).await;
    assert_eq!(first.seq, 5);
    app.ingest(&json!([event("f"), event("g")])).await;
    let second = checkpoint_now(&app, dir.path()).await;
    assert_eq!(second.seq, 7);

    let store = EventStore::new(app.database.pool.clone());
    let key = checkpoints::parse_public_key(&first.public_key).unwrap();
    let signed = CheckpointLog::new(dir.path().join("checkpoints.jsonl"))
        .read_all()
        .unwrap();
    let clean = checkpoints::check_chain(&store, &signed, &key)
        .await
        .unwrap();
    assert!(clean.mismatch.is_none(), "{clean:?}");
    assert_eq!(
        clean.matched,
        signed.len(),
        "the start-up checkpoint, seq 5 and seq 7"
    );

    rewrite_history(&app, 3).await;
    let plain = store.verify_chain(None).await.unwrap();
    assert_eq!(
        plain.first_bad_seq, None,
        "recomputed hashes fool the plain walk"
    );
    let report = checkpoints::check_chain(&store, &signed, &key)
        .await
        .unwrap();
    let (checkpoint, why) = report.mismatch.expect("the checkpoints see the rewrite");
    assert_eq!(
        checkpoint.seq, 5,
        "the first checkpoint after the edit: {why}"
    );
    assert!(why.contains("stored hash at seq 5"), "{why}");

    // A checkpoint log edited to match the rewrite no longer verifies with the key.
    let head = store.chain_head().await.unwrap();
    let forged = SignedCheckpoint {
        hash: to_hex(&head.hash),
        ..second.clone()
    };
    let report = checkpoints::check_chain(&store, &[forged], &key)
        .await
        .unwrap();
    let (_, why) = report.mismatch.expect("a forged line is refused");
    assert!(why.contains("signature"), "{why}");
}

#[tokio::test]
async fn the_server_signs_its_head_and_lists_checkpoints_to_readers_only() {
    let dir = tempfile::tempdir().unwrap();
    let app = signing_app(dir.path()).await;
    let read = common::create_key(&app.database, "auditor", KeyKind::Read).await;
    // The periodic signer's first checkpoint comes at start.
    let status = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let status: Value = (app.http.get(app.url("/api/v1/chain")).bearer_auth(&read))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if !status["latest_checkpoint"].is_null() {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("a checkpoint at start");
    // The signer records its metrics just after the checkpoint: await them, with a timeout.
    let signed = |text: &str| {
        let at = (text.lines())
            .find_map(|l| l.strip_prefix("vigil_checkpoint_last_signed_timestamp_seconds "))
            .and_then(|v| v.parse::<f64>().ok());
        text.contains("\nvigil_checkpoint_signed_seq 0\n") && at.is_some_and(|t| t > 1.7e9)
    };
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let text = (app.http.get(app.url("/metrics")).bearer_auth(&read))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if signed(&text) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the checkpoint's seq and time in the metrics");
    let key_file = std::fs::read_to_string(dir.path().join("signing-key")).unwrap();
    assert_eq!(
        key_file.trim().len(),
        64,
        "the key is outside the database, in its file"
    );
    app.ingest(&json!({"event_type": "auth.logout"})).await;
    checkpoint_now(&app, dir.path()).await;

    let list = |key: Option<&str>, query: &str| {
        let mut request = app
            .http
            .get(app.url(&format!("/api/v1/chain/checkpoints{query}")));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send()
    };
    let listed: Vec<SignedCheckpoint> = list(Some(&read), "").await.unwrap().json().await.unwrap();
    assert_eq!(
        listed.iter().map(|c| c.seq).collect::<Vec<_>>(),
        [1, 0],
        "newest first"
    );
    assert_eq!(
        listed[1].public_key,
        status["latest_checkpoint"]["public_key"]
    );
    let one: Vec<SignedCheckpoint> = (list(Some(&read), "?limit=1").await.unwrap().json())
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(list(None, "").await.unwrap().status(), 401);
    assert_eq!(
        list(Some(&app.key), "").await.unwrap().status(),
        403,
        "an ingest key"
    );
    for bad in ["?limit=0", "?limit=1001", "?limit=many"] {
        assert_eq!(list(Some(&read), bad).await.unwrap().status(), 422, "{bad}");
    }
}

#[tokio::test]
async fn every_receipt_names_the_seq_and_hash_it_was_chained_at() {
    let app = TestApp::spawn().await;
    let id = uuid::Uuid::now_v7();
    let receipts = app
        .ingest(
            &json!([{"event_id": id, "event_type": "auth.logout"}, {"event_type": "auth.logout"}]),
        )
        .await;
    let again = app
        .ingest(&json!({"event_id": id, "event_type": "auth.logout"}))
        .await;
    for receipt in receipts.iter().chain(&again) {
        let stored: Vec<u8> = sqlx::query_scalar("select hash from events where seq = $1")
            .bind(receipt["seq"].as_i64().unwrap())
            .fetch_one(&app.database.pool)
            .await
            .unwrap();
        assert_eq!(receipt["hash"], to_hex(&stored), "{receipt}");
    }
    assert_eq!(again[0]["duplicate"], true);
    assert_eq!(
        again[0]["hash"], receipts[0]["hash"],
        "a retry's receipt is the original's"
    );
}

/// Runs docs/verify_proof.py on `proof`; its exit status and output.
fn verify_proof(proof: &Value, args: &[&str]) -> (bool, String) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), proof.to_string()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/verify_proof.py");
    let output = std::process::Command::new("python3")
        .arg(script)
        .arg(file.path())
        .args(args)
        .output()
        .expect("python3 runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    (
        output.status.success(),
        text + &String::from_utf8_lossy(&output.stderr),
    )
}

#[tokio::test]
async fn a_receipt_is_proven_against_a_signed_checkpoint_by_the_standalone_script() {
    let dir = tempfile::tempdir().unwrap();
    let app = signing_app(dir.path()).await;
    let read = common::create_key(&app.database, "producer-audit", KeyKind::Read).await;
    let receipts = app
        .ingest(&json!([
            {"event_type": "auth.login.success", "username": "ann"},
            {"event_type": "auth.login.failure", "username": "zoë \"quoted\"\n", "ip_address": "2001:db8::1",
             "user_agent": "Mozilla/5.0 ☃", "reason": "tab\there",
             "event_data": {"z": [1, 2.5, {"b": null, "a": true}], "A": "\u{1f510}", "é": "x"}},
            {"event_type": "auth.mfa.enabled", "user_id": "u-7", "occurred_at": "2026-01-02T03:04:05.123456789Z"},
            {"event_type": "auth.logout", "user_id": "u-8", "occurred_at": "2099-01-02T03:04:05.5Z"},
        ]))
        .await;
    let checkpoint = checkpoint_now(&app, dir.path()).await;
    let proof_of = |seq: i64, key: Option<String>| {
        let mut request = app
            .http
            .get(app.url(&format!("/api/v1/chain/proof?seq={seq}")));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send()
    };
    let receipt = &receipts[1];
    let seq = receipt["seq"].as_i64().unwrap();
    let response = proof_of(seq, Some(read.clone())).await.unwrap();
    assert_eq!(response.status(), 200);
    let proof: Value = response.json().await.unwrap();
    let hash = receipt["hash"].as_str().unwrap();
    let args = [
        "--public-key",
        &checkpoint.public_key,
        "--seq",
        &seq.to_string(),
        "--hash",
        hash,
    ];
    let (ok, output) = verify_proof(&proof, &args);
    assert!(ok && output.starts_with("proven"), "{output}");
    let held = proof["events"].as_array().unwrap().last().unwrap();
    assert!(
        held["occurred_at_claimed"].is_string(),
        "a held time is in the proof: {held}"
    );

    let mut altered = proof.clone();
    altered["events"][0]["username"] = json!("mallory");
    let (ok, output) = verify_proof(&altered, &args);
    assert!(
        !ok && output.contains("NOT PROVEN"),
        "an edited event: {output}"
    );
    let other = vigil_server::checkpoints::CheckpointKey::load_or_create(&dir.path().join("k2"))
        .unwrap()
        .public_hex();
    let wrong_key = ["--public-key", other.as_str()];
    let (ok, output) = verify_proof(&proof, &wrong_key);
    assert!(!ok && output.contains("signature"), "another key: {output}");

    assert_eq!(proof_of(seq, None).await.unwrap().status(), 401);
    assert_eq!(
        proof_of(seq, Some(app.key.clone())).await.unwrap().status(),
        403
    );
    assert_eq!(proof_of(0, Some(read.clone())).await.unwrap().status(), 422);
    app.ingest(&json!({"event_type": "auth.logout"})).await;
    let unsigned = proof_of(checkpoint.seq + 1, Some(read.clone()))
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 409, "no checkpoint covers it yet");
}
