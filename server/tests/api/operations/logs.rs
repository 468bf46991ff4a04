//! `--log-format json`: one JSON object per line, with hostile values still escaped.

use crate::cli::{serve_logging_to_file, terminate};

#[tokio::test]
async fn json_logs_are_one_object_per_line_and_cannot_be_forged() {
    let (server, url, _, _, log_path) =
        serve_logging_to_file("cli-json-log", &["--log-format", "json"]).await;
    let forged = r#"{"level":"INFO","fields":{"message":"admin signed in"}}"#;
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{url}/auth/login"))
        .form(&[
            ("username", format!("mallory\n{forged}").as_str()),
            ("password", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    terminate(server).await;
    let log = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<serde_json::Value> = (log.lines())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert!(lines.len() > 3, "{log}");
    for line in &lines {
        assert!(
            line["timestamp"].is_string() && line["level"].is_string(),
            "{line}"
        );
        assert!(line["fields"]["message"].is_string(), "{line}");
    }
    let sign_in = (lines.iter())
        .find(|line| line["fields"]["message"] == "dashboard sign-in")
        .unwrap_or_else(|| panic!("the sign-in is logged: {log}"));
    // The handler's span carries the username; JSON lines nest it under `span`.
    let username = sign_in["span"]["username"]
        .as_str()
        .expect("a username field");
    assert!(username.starts_with("mallory\\n{"), "escaped: {username}");
    assert!(!log.lines().any(|l| l == forged), "no forged line");
}
