//! The dashboard's administration (`vigil_app::admin_backend::Administration`): keys and
//! operators changed through the owner's functions (the serving login writes neither table
//! itself), each change then recorded as Vigil's own event (`source = vigil`) through the ingest
//! writer, so it is chained, streamed and judged like any other. Argon2 runs on the blocking
//! pool, a few at a time.

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::Argon2;
use axum::extract::ConnectInfo;
use axum::http::{header, request::Parts};
use futures::future::BoxFuture;
use serde_json::json;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tokio::sync::Semaphore;
use vigil_app::admin_backend::{AdminRefused, AdminResult, Administration};
use vigil_app::admin_fields::{CreatedKey, Name, NewKeyKind, OperatorRole, Password};
use vigil_app::backend::SignedIn;
use vigil_wire::{ActionResult, Severity};

use super::{AppState, TrustedProxies};
use crate::auth::{generate_key, hash_key, hash_password, Sessions};
use crate::events::{clip, NewEvent, SELF_SOURCE};
use crate::ingest::EventWriter;
use crate::storage::{CreateKeyError, KeyKind, KeyStore, OperatorStore, Role, StorageError};

/// Password hashes computed at once for the administration: changes are rare, and a signed-in
/// operator retrying a password change must not take the CPUs sign-ins and ingest need.
const HASHERS: usize = 2;

#[derive(Clone)]
pub struct DashboardAdmin {
    keys: KeyStore,
    operators: OperatorStore,
    writer: EventWriter,
    sessions: Sessions,
    proxies: TrustedProxies,
    hashers: Arc<Semaphore>,
}

/// Who asked, from the request: what the audit event says besides the operator's name.
#[derive(Default)]
struct Asker {
    client: Option<IpAddr>,
    user_agent: Option<String>,
    headers: axum::http::HeaderMap,
}

impl DashboardAdmin {
    pub fn new(state: &AppState) -> Self {
        DashboardAdmin {
            keys: KeyStore::new(state.store.pool().clone()),
            operators: OperatorStore::new(state.store.pool().clone()),
            writer: state.writer.clone(),
            sessions: state.sessions.clone(),
            proxies: state.trusted_proxies.clone(),
            hashers: Arc::new(Semaphore::new(HASHERS)),
        }
    }

    /// Read while the server function runs, before its first await.
    fn asker(&self) -> Asker {
        let Some(parts) = leptos::prelude::use_context::<Parts>() else {
            return Asker::default();
        };
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>();
        Asker {
            client: peer.map(|ConnectInfo(peer)| self.proxies.client(peer.ip(), &parts.headers)),
            user_agent: (parts.headers.get(header::USER_AGENT))
                .and_then(|v| v.to_str().ok())
                .map(|ua| clip("user_agent", ua)),
            headers: parts.headers,
        }
    }

    /// Records a change that committed. It stays made if recording fails (a full queue, the
    /// database gone): that is logged, loudly.
    async fn record(&self, asker: &Asker, event: NewEvent) {
        let event = NewEvent {
            ip_address: asker.client,
            user_agent: asker.user_agent.clone(),
            ..event
        };
        let what = event.event_type.clone();
        if let Err(err) = self.writer.write(vec![event]).await {
            tracing::error!(%err, event_type = %what, "an administration change was made but not recorded");
        }
    }

    async fn hash(&self, password: &Password) -> AdminResult<String> {
        let _permit = self.hashers.acquire().await.map_err(|_| busy())?;
        let password = password.expose().to_owned();
        (tokio::task::spawn_blocking(move || hash_password(&password)).await).map_err(|_| busy())
    }

    async fn verify(&self, password: String, stored: String) -> AdminResult<bool> {
        let _permit = self.hashers.acquire().await.map_err(|_| busy())?;
        let checked = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&stored).is_ok_and(|hash| {
                (Argon2::default().verify_password(password.as_bytes(), &hash)).is_ok()
            })
        });
        checked.await.map_err(|_| busy())
    }
}

fn busy() -> AdminRefused {
    tracing::error!("a password hasher failed");
    AdminRefused::Unavailable("the server could not hash the password".to_owned())
}

/// Logs the detail; the page shows only that the change failed.
fn unavailable(err: StorageError) -> AdminRefused {
    tracing::error!(%err, "an administration change failed");
    AdminRefused::Unavailable("the database is unavailable: nothing was changed".to_owned())
}

/// An event about `target`, naming who acted.
fn change(event_type: &str, username: &str, details: serde_json::Value) -> NewEvent {
    NewEvent {
        username: Some(clip("username", username)),
        event_data: details,
        ..NewEvent::of_type(event_type, SELF_SOURCE)
    }
}

impl Administration for DashboardAdmin {
    fn create_key(
        &self,
        by: SignedIn,
        name: Name,
        kind: NewKeyKind,
    ) -> BoxFuture<'_, AdminResult<CreatedKey>> {
        let asker = self.asker();
        Box::pin(async move {
            let stored_kind = match kind {
                NewKeyKind::Ingest => KeyKind::Ingest,
                NewKeyKind::Read => KeyKind::Read,
            };
            let key = generate_key();
            match self
                .keys
                .create(name.as_str(), stored_kind, &hash_key(&key))
                .await
            {
                Ok(()) => {}
                Err(CreateKeyError::NameTaken(taken)) => {
                    return Err(AdminRefused::Taken(format!(
                        "`name`: a key named `{taken}` already exists"
                    )))
                }
                Err(CreateKeyError::Storage(err)) => return Err(unavailable(err)),
            }
            tracing::info!(key = name.as_str(), kind = kind.as_str(), by = %by.username, "key created");
            let event = NewEvent {
                api_key_name: Some(clip("api_key_name", name.as_str())),
                ..change(
                    "auth.api_key.created",
                    &by.username,
                    json!({"by": by.username, "target": name.as_str(), "kind": kind.as_str()}),
                )
            };
            self.record(&asker, event).await;
            Ok(CreatedKey {
                name: name.into_string(),
                kind,
                key,
            })
        })
    }

    fn revoke_key(&self, by: SignedIn, name: Name) -> BoxFuture<'_, AdminResult<()>> {
        let asker = self.asker();
        Box::pin(async move {
            if !self.keys.revoke(name.as_str()).await.map_err(unavailable)? {
                return Err(AdminRefused::NotFound(format!(
                    "`name`: no active key named `{}`",
                    name.as_str()
                )));
            }
            tracing::info!(key = name.as_str(), by = %by.username, "key revoked");
            let event = NewEvent {
                api_key_name: Some(clip("api_key_name", name.as_str())),
                ..change(
                    "auth.api_key.revoked",
                    &by.username,
                    json!({"by": by.username, "target": name.as_str()}),
                )
            };
            self.record(&asker, event).await;
            Ok(())
        })
    }

    fn create_operator(
        &self,
        by: SignedIn,
        username: Name,
        role: OperatorRole,
        password: Password,
    ) -> BoxFuture<'_, AdminResult<()>> {
        let asker = self.asker();
        Box::pin(async move {
            let hash = self.hash(&password).await?;
            let stored_role = match role {
                OperatorRole::Viewer => Role::Viewer,
                OperatorRole::Admin => Role::Admin,
            };
            let created = (self.operators.create(username.as_str(), &hash, stored_role))
                .await
                .map_err(unavailable)?;
            if !created {
                return Err(AdminRefused::Taken(format!(
                    "`username`: an operator named `{}` already exists",
                    username.as_str()
                )));
            }
            tracing::info!(operator = username.as_str(), role = role.as_str(), by = %by.username, "operator created");
            let details =
                json!({"by": by.username, "target": username.as_str(), "role": role.as_str()});
            (self.record(
                &asker,
                change("auth.operator.created", username.as_str(), details),
            ))
            .await;
            Ok(())
        })
    }

    fn disable_operator(&self, by: SignedIn, username: Name) -> BoxFuture<'_, AdminResult<()>> {
        let asker = self.asker();
        Box::pin(async move {
            if !(self.operators.disable(username.as_str()).await).map_err(unavailable)? {
                return Err(AdminRefused::NotFound(format!(
                    "`username`: no enabled operator named `{}`",
                    username.as_str()
                )));
            }
            tracing::info!(operator = username.as_str(), by = %by.username, "operator disabled");
            let event = NewEvent {
                severity: Severity::Warning,
                ..change(
                    "auth.operator.disabled",
                    username.as_str(),
                    json!({"by": by.username, "target": username.as_str()}),
                )
            };
            self.record(&asker, event).await;
            Ok(())
        })
    }

    fn reset_password(
        &self,
        by: SignedIn,
        username: Name,
        password: Password,
    ) -> BoxFuture<'_, AdminResult<()>> {
        let asker = self.asker();
        Box::pin(async move {
            let hash = self.hash(&password).await?;
            let set = (self.operators.set_password(username.as_str(), &hash, None))
                .await
                .map_err(unavailable)?;
            if !set {
                return Err(AdminRefused::NotFound(format!(
                    "`username`: no enabled operator named `{}`",
                    username.as_str()
                )));
            }
            tracing::info!(operator = username.as_str(), by = %by.username, "password reset");
            let details = json!({"by": by.username, "target": username.as_str()});
            let event = change("auth.password.reset_completed", username.as_str(), details);
            self.record(&asker, event).await;
            Ok(())
        })
    }

    fn change_own_password(
        &self,
        who: SignedIn,
        current: String,
        new: Password,
    ) -> BoxFuture<'_, AdminResult<()>> {
        let asker = self.asker();
        Box::pin(async move {
            let client = asker.client.unwrap_or(IpAddr::from([0, 0, 0, 0]));
            // Guessing the current password from an open session costs what guessing it at the
            // sign-in form does.
            if let Err(throttled) = self.sessions.throttle().admit(client, &who.username) {
                return Err(AdminRefused::Throttled(format!(
                    "`current_password`: too many attempts; try again in {} s",
                    throttled.retry_after.as_secs() + 1
                )));
            }
            let record = (self.operators.by_username(&who.username).await).map_err(unavailable)?;
            let Some(record) = record.filter(|r| r.disabled_at.is_none()) else {
                return Err(AdminRefused::NotFound(
                    "your operator is no longer enabled".to_owned(),
                ));
            };
            let details = json!({"by": who.username, "target": who.username});
            if !self.verify(current, record.password_hash).await? {
                let event = NewEvent {
                    action_result: ActionResult::Failure,
                    severity: Severity::Warning,
                    reason: Some("wrong current password".to_owned()),
                    ..change("auth.password.changed", &who.username, details)
                };
                self.record(&asker, event).await;
                return Err(AdminRefused::Invalid(
                    "`current_password`: is not your current password".to_owned(),
                ));
            }
            self.sessions.throttle().succeeded(client, &who.username);
            let hash = self.hash(&new).await?;
            // This session stays; every other one of theirs ends.
            let session = (self.sessions.signed_in(&asker.headers).await).map_err(unavailable)?;
            let keep = session.map(|(_, token)| hash_key(&token));
            let set = (self
                .operators
                .set_password(&who.username, &hash, keep.as_deref()))
            .await
            .map_err(unavailable)?;
            if !set {
                return Err(AdminRefused::NotFound(
                    "your operator is no longer enabled".to_owned(),
                ));
            }
            tracing::info!(operator = %who.username, "own password changed");
            (self.record(
                &asker,
                change("auth.password.changed", &who.username, details),
            ))
            .await;
            Ok(())
        })
    }
}
