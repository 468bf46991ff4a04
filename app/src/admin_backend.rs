//! What the dashboard's administration needs from the server: changing keys and operators, each
//! change recorded as Vigil's own event. The server crate implements it and provides an
//! `Admin` through Leptos context, beside the `Backend` readers use.

use futures::future::BoxFuture;
use leptos::prelude::{use_context, ServerFnError};
use std::sync::Arc;

use crate::admin_fields::{CreatedKey, Name, NewKeyKind, OperatorRole, Password};
use crate::backend::SignedIn;

/// Why a change was not made; every message is safe to show the operator and names its field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminRefused {
    /// A field's value (`400`).
    Invalid(String),
    /// No such active key or enabled operator (`404`).
    NotFound(String),
    /// The name is taken (`409`).
    Taken(String),
    /// Too many wrong current passwords (`429`).
    Throttled(String),
    /// Already logged: the database or a hasher failed.
    Unavailable(String),
}

pub type AdminResult<T> = Result<T, AdminRefused>;

/// Each method makes its change, then records it (`source = vigil`) naming `by`. The
/// implementation may read the request (client address, session) from Leptos context, so call
/// it from the server function itself.
pub trait Administration: Send + Sync + 'static {
    /// A new key, returned once: only its hash is kept.
    fn create_key(
        &self,
        by: SignedIn,
        name: Name,
        kind: NewKeyKind,
    ) -> BoxFuture<'_, AdminResult<CreatedKey>>;
    /// Revokes an active key on every instance.
    fn revoke_key(&self, by: SignedIn, name: Name) -> BoxFuture<'_, AdminResult<()>>;
    fn create_operator(
        &self,
        by: SignedIn,
        username: Name,
        role: OperatorRole,
        password: Password,
    ) -> BoxFuture<'_, AdminResult<()>>;
    /// Disables an operator and ends their sessions.
    fn disable_operator(&self, by: SignedIn, username: Name) -> BoxFuture<'_, AdminResult<()>>;
    /// Gives another operator a new password and ends their sessions.
    fn reset_password(
        &self,
        by: SignedIn,
        username: Name,
        password: Password,
    ) -> BoxFuture<'_, AdminResult<()>>;
    /// The signed-in operator's own password, if `current` is it; their other sessions end.
    fn change_own_password(
        &self,
        who: SignedIn,
        current: String,
        new: Password,
    ) -> BoxFuture<'_, AdminResult<()>>;
}

#[derive(Clone)]
pub struct Admin(pub Arc<dyn Administration>);

/// The administration from context, or a server error if the app was mounted without one.
pub fn administration() -> Result<Admin, ServerFnError> {
    use_context::<Admin>()
        .ok_or_else(|| ServerFnError::new("administration is not configured on this server"))
}

/// The operator's error as a 4xx (the response says it was theirs, not the server's).
pub fn refused(refusal: AdminRefused) -> ServerFnError {
    use http::StatusCode;
    let (status, message) = match refusal {
        AdminRefused::Invalid(m) => (StatusCode::BAD_REQUEST, m),
        AdminRefused::NotFound(m) => (StatusCode::NOT_FOUND, m),
        AdminRefused::Taken(m) => (StatusCode::CONFLICT, m),
        AdminRefused::Throttled(m) => (StatusCode::TOO_MANY_REQUESTS, m),
        AdminRefused::Unavailable(m) => (StatusCode::INTERNAL_SERVER_ERROR, m),
    };
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(status);
    }
    ServerFnError::new(message)
}

/// The signed-in operator if they are an admin; a `403` naming what was refused otherwise.
pub fn admin_only(what: &str) -> Result<SignedIn, ServerFnError> {
    let who = crate::backend::signed_in()?;
    if who.admin {
        return Ok(who);
    }
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::FORBIDDEN);
    }
    Err(ServerFnError::new(format!("only admins can {what}")))
}

/// A field's refusal as a `400`.
pub fn invalid(refusal: String) -> ServerFnError {
    refused(AdminRefused::Invalid(refusal))
}
