//! The administration's server functions, for admins only: refused on the server (`403`) for
//! anyone else, whatever the page shows. POSTs with the session cookie, so the server's origin
//! check covers them like every other (`server/src/http/origin.rs`). Each answers with a line
//! saying what it did, shown as text.

use leptos::prelude::*;

use crate::admin_fields::CreatedKey;

/// A new API key (`kind`: `ingest` or `read`); the answer holds the key, shown only now.
#[server(prefix = "/rpc", endpoint = "create_api_key")]
pub async fn create_api_key(name: String, kind: String) -> Result<CreatedKey, ServerFnError> {
    use crate::admin_backend::{admin_only, administration, invalid, refused};
    use crate::admin_fields::{Name, NewKeyKind};

    let by = admin_only("create keys")?;
    let name = Name::parse_key_name("name", &name).map_err(invalid)?;
    let kind = NewKeyKind::parse("kind", &kind).map_err(invalid)?;
    let admin = administration()?;
    admin.0.create_key(by, name, kind).await.map_err(refused)
}

/// Revokes the active key `name` on every instance; there is no way back.
#[server(prefix = "/rpc", endpoint = "revoke_api_key")]
pub async fn revoke_api_key(name: String) -> Result<String, ServerFnError> {
    use crate::admin_backend::{admin_only, administration, invalid, refused};
    use crate::admin_fields::Name;

    let by = admin_only("revoke keys")?;
    let name = Name::parse("name", &name).map_err(invalid)?;
    let done = format!("Revoked key `{}`.", name.as_str());
    let admin = administration()?;
    admin.0.revoke_key(by, name).await.map_err(refused)?;
    Ok(done)
}

/// A new operator (`role`: `viewer` or `admin`) with the password the admin gives them.
#[server(prefix = "/rpc", endpoint = "create_operator")]
pub async fn create_operator(
    username: String,
    role: String,
    password: String,
) -> Result<String, ServerFnError> {
    use crate::admin_backend::{admin_only, administration, invalid, refused};
    use crate::admin_fields::{Name, OperatorRole, Password};

    let by = admin_only("create operators")?;
    let username = Name::parse("username", &username).map_err(invalid)?;
    let role = OperatorRole::parse("role", &role).map_err(invalid)?;
    let password = Password::parse("password", &password).map_err(invalid)?;
    let done = format!("Created {} `{}`.", role.as_str(), username.as_str());
    let admin = administration()?;
    (admin.0.create_operator(by, username, role, password))
        .await
        .map_err(refused)?;
    Ok(done)
}

/// Disables operator `username` and ends their sessions. Not oneself: that would lock the
/// dashboard's last admin out with one click (the CLI still can).
#[server(prefix = "/rpc", endpoint = "disable_operator")]
pub async fn disable_operator(username: String) -> Result<String, ServerFnError> {
    use crate::admin_backend::{admin_only, administration, invalid, refused};
    use crate::admin_fields::Name;

    let by = admin_only("disable operators")?;
    let username = Name::parse("username", &username).map_err(invalid)?;
    if username.as_str() == by.username {
        return Err(invalid(
            "`username`: you cannot disable yourself".to_owned(),
        ));
    }
    let done = format!("Disabled `{}` and ended their sessions.", username.as_str());
    let admin = administration()?;
    (admin.0.disable_operator(by, username))
        .await
        .map_err(refused)?;
    Ok(done)
}

/// Gives operator `username` a new password and ends their sessions. Not one's own: that is
/// the account page's, which asks for the current password first.
#[server(prefix = "/rpc", endpoint = "reset_operator_password")]
pub async fn reset_operator_password(
    username: String,
    password: String,
) -> Result<String, ServerFnError> {
    use crate::admin_backend::{admin_only, administration, invalid, refused};
    use crate::admin_fields::{Name, Password};

    let by = admin_only("reset passwords")?;
    let username = Name::parse("username", &username).map_err(invalid)?;
    if username.as_str() == by.username {
        return Err(invalid(
            "`username`: change your own password on the Account page".to_owned(),
        ));
    }
    let password = Password::parse("password", &password).map_err(invalid)?;
    let done = format!(
        "Reset the password of `{}` and ended their sessions.",
        username.as_str()
    );
    let admin = administration()?;
    (admin.0.reset_password(by, username, password))
        .await
        .map_err(refused)?;
    Ok(done)
}
