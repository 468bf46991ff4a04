//! Operators from the dashboard: created with a role, given a new password, disabled; each
//! change ends the sessions it must and is an event naming who made it.

use super::{own_events, rpc, vigil_cli};
use crate::common::{TestApp, OPERATOR};

#[tokio::test]
async fn an_admin_creates_resets_and_disables_an_operator() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in().await;
    let create = |username: &'static str, role: &'static str, password: &'static str| {
        let admin = admin.clone();
        let app = &app;
        async move {
            let form = [
                ("username", username),
                ("role", role),
                ("password", password),
            ];
            rpc(&admin, app, "create_operator", &form).await
        }
    };
    let (status, body) = create("vera", "viewer", "first-password").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Created viewer `vera`."), "{body}");
    let vera = app
        .sign_in_as("vera", "first-password")
        .await
        .expect("vera signs in");
    for (made, code, says) in [
        (
            create("vera", "admin", "another-password").await,
            409,
            "`username`: an operator named `vera` already exists",
        ),
        (
            create("walt", "root", "another-password").await,
            400,
            "`role`: must be viewer or admin",
        ),
        (
            create("walt", "viewer", "short").await,
            400,
            "`password`: must be at least 8 characters (this one has 5)",
        ),
        (
            create(" ", "viewer", "another-password").await,
            400,
            "`username`: must be 1 to 64 characters",
        ),
    ] {
        assert_eq!(made.0, code, "{}", made.1);
        assert!(made.1.contains(says), "{}", made.1);
    }

    // A new password ends her sessions; only the new one signs in.
    let (status, body) = rpc(
        &admin,
        &app,
        "reset_operator_password",
        &[("username", "vera"), ("password", "second-password")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        rpc(&vera, &app, "current_operator", &[]).await.0,
        401,
        "her session ended"
    );
    assert!(app.sign_in_as("vera", "first-password").await.is_none());
    let vera = app
        .sign_in_as("vera", "second-password")
        .await
        .expect("the new password");
    assert_eq!(
        rpc(&admin, &app, "current_operator", &[]).await.0,
        200,
        "the admin's stays"
    );

    // Oneself: the account page changes one's own password, and nobody disables themselves.
    let own = [("username", OPERATOR.0), ("password", "whatever-password")];
    let (status, body) = rpc(&admin, &app, "reset_operator_password", &own).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("change your own password on the Account page"),
        "{body}"
    );
    let (status, body) = rpc(
        &admin,
        &app,
        "disable_operator",
        &[("username", OPERATOR.0)],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("`username`: you cannot disable yourself"),
        "{body}"
    );

    let (status, body) = rpc(&admin, &app, "disable_operator", &[("username", "vera")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        rpc(&vera, &app, "current_operator", &[]).await.0,
        401,
        "her session ended"
    );
    assert!(app.sign_in_as("vera", "second-password").await.is_none());
    let (status, body) = rpc(&admin, &app, "disable_operator", &[("username", "vera")]).await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body.contains("`username`: no enabled operator named `vera`"),
        "{body}"
    );
    let again = [("username", "vera"), ("password", "third-password")];
    let (status, _) = rpc(&admin, &app, "reset_operator_password", &again).await;
    assert_eq!(status, 404, "a disabled operator stays disabled");
    assert!(app.sign_in_as("vera", "third-password").await.is_none());

    let listed = vigil_cli(&app, &["users", "list"]).await;
    let line = listed
        .lines()
        .find(|l| l.starts_with("vera "))
        .expect(&listed);
    assert!(
        line.contains("viewer") && !line.trim_end().ends_with('-'),
        "disabled: {line}"
    );

    let by = |extra: serde_json::Value| {
        let mut details = serde_json::json!({"by": OPERATOR.0, "target": "vera"});
        details
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        details
    };
    for (event_type, details, severity) in [
        (
            "auth.operator.created",
            by(serde_json::json!({"role": "viewer"})),
            "info",
        ),
        (
            "auth.password.reset_completed",
            by(serde_json::json!({})),
            "info",
        ),
        (
            "auth.operator.disabled",
            by(serde_json::json!({})),
            "warning",
        ),
    ] {
        let events = own_events(&app, event_type).await;
        assert_eq!(events.len(), 1, "{event_type}: {events:?}");
        assert_eq!(
            events[0]["username"], "vera",
            "{event_type}: the operator acted on"
        );
        assert_eq!(events[0]["event_data"], details, "{event_type}");
        assert_eq!(events[0]["severity"], severity, "{event_type}");
    }
}
