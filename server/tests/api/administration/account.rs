//! Every operator's own password: changed only with the current one, ending their other
//! sessions but not this one, throttled like sign-in, recorded either way; and the top bar
//! offers sign-out (and the account page) only to someone signed in.

use super::{own_events, rpc};
use crate::common::TestApp;
use vigil_server::auth::hash_password;
use vigil_server::storage::{OperatorStore, Role};

async fn add_viewer(app: &TestApp) {
    // Hashed off the test's runtime, which also runs the server.
    let hash = tokio::task::spawn_blocking(|| hash_password("viewer-password"))
        .await
        .unwrap();
    OperatorStore::new(app.database.pool.clone())
        .create("vera", &hash, Role::Viewer)
        .await
        .unwrap();
}

async fn change(
    client: &reqwest::Client,
    app: &TestApp,
    current: &str,
    new: &str,
    confirm: &str,
) -> (u16, String) {
    let form = [
        ("current_password", current),
        ("new_password", new),
        ("confirm_password", confirm),
    ];
    rpc(client, app, "change_own_password", &form).await
}

#[tokio::test]
async fn a_viewer_changes_their_own_password_with_the_current_one() {
    let app = TestApp::spawn().await;
    add_viewer(&app).await;
    let here = app.sign_in_as("vera", "viewer-password").await.unwrap();
    let elsewhere = app.sign_in_as("vera", "viewer-password").await.unwrap();
    for ((current, new, confirm), says) in [
        (
            ("not-my-password", "vera-new-password", "vera-new-password"),
            "`current_password`: is not your current password",
        ),
        (
            ("viewer-password", "short", "short"),
            "`new_password`: must be at least 8 characters (this one has 5)",
        ),
        (
            ("viewer-password", "vera-new-password", "vera-new-passw0rd"),
            "`confirm_password`: does not match the new password",
        ),
        (
            ("viewer-password", "viewer-password", "viewer-password"),
            "`new_password`: is the current password",
        ),
    ] {
        let (status, body) = change(&here, &app, current, new, confirm).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.contains(says), "{body}");
    }
    let (status, body) = change(
        &here,
        &app,
        "viewer-password",
        "vera-new-password",
        "vera-new-password",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, me) = rpc(&here, &app, "current_operator", &[]).await;
    assert_eq!(status, 200, "this session stays");
    assert!(me.contains("\"vera\""), "{me}");
    assert_eq!(
        rpc(&elsewhere, &app, "current_operator", &[]).await.0,
        401,
        "every other session ended"
    );
    assert!(app.sign_in_as("vera", "viewer-password").await.is_none());
    assert!(app.sign_in_as("vera", "vera-new-password").await.is_some());

    let events = own_events(&app, "auth.password.changed").await;
    let outcomes: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["action_result"].as_str().unwrap(),
                e["reason"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [("failure", "wrong current password"), ("success", "")],
        "the wrong guess and the change"
    );
    for event in &events {
        assert_eq!(event["username"], "vera");
        assert_eq!(
            event["event_data"],
            serde_json::json!({"by": "vera", "target": "vera"})
        );
    }
}

#[tokio::test]
async fn guessing_the_current_password_is_throttled_like_signing_in() {
    let app = TestApp::spawn().await;
    add_viewer(&app).await;
    let session = app.sign_in_as("vera", "viewer-password").await.unwrap();
    // The default allows five attempts a minute per address and username.
    for guess in 0..5 {
        let (status, body) = change(
            &session,
            &app,
            &format!("guess-{guess}"),
            "x-password",
            "x-password",
        )
        .await;
        assert_eq!(status, 400, "guess {guess}: {body}");
    }
    let (status, body) = change(
        &session,
        &app,
        "viewer-password",
        "vera-new-password",
        "vera-new-password",
    )
    .await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body.contains("`current_password`: too many attempts"),
        "{body}"
    );
    let sign_in = (app.http.post(app.url("/auth/login")))
        .form(&[("username", "vera"), ("password", "viewer-password")])
        .send()
        .await
        .unwrap();
    assert_eq!(sign_in.status(), 429, "the same allowance as signing in");
}

#[tokio::test]
async fn sign_out_and_the_account_link_are_for_the_signed_in_only() {
    let app = TestApp::spawn().await;
    add_viewer(&app).await;
    let login = within("the sign-in page", async {
        reqwest::get(app.url("/login")).await?.text().await
    })
    .await;
    assert!(login.contains("Sign in to Vigil"));
    assert!(!login.contains("data-testid=\"sign-out\""), "{login}");
    assert!(!login.contains("data-testid=\"account-link\""));

    let viewer = app.sign_in_as("vera", "viewer-password").await.unwrap();
    let home = within("the live feed", async {
        viewer.get(app.url("/")).send().await?.text().await
    })
    .await;
    assert!(home.contains("data-testid=\"sign-out\""), "{home}");
    assert!(home.contains("href=\"/account\""));
    let account = within("the account page", async {
        viewer.get(app.url("/account")).send().await?.text().await
    })
    .await;
    assert!(account.contains("Signed in as vera (viewer)."), "{account}");
    assert!(account.contains("data-testid=\"change-password-form\""));
}

/// A page's whole body, or a failure naming the page if it takes over 30 s (once, in a full
/// run, one of these requests never finished; this says which).
async fn within(
    page: &str,
    body: impl std::future::Future<Output = reqwest::Result<String>>,
) -> String {
    match tokio::time::timeout(std::time::Duration::from_secs(30), body).await {
        Ok(body) => body.unwrap(),
        Err(_) => panic!("{page} did not finish within 30 s"),
    }
}
