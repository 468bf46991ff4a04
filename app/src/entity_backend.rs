//! What the entity pages' server functions need from storage: one user's or address's profile.
//! Its own trait beside `EventReader`, implemented by the server and provided through Leptos
//! context as `Entities`, so the app never opens a connection itself.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use std::sync::Arc;
use vigil_wire::{Entity, EntityProfile};

use crate::backend::ReadResult;

pub trait EntityReader: Send + Sync + 'static {
    /// What the entity did over `[since, until)` (first and last seen are of all time); the
    /// panels count at most the server's cap of its newest events in range and say so.
    fn profile(
        &self,
        entity: Entity,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> BoxFuture<'_, ReadResult<EntityProfile>>;
}

#[derive(Clone)]
pub struct Entities(pub Arc<dyn EntityReader>);

/// The entity reader from context, or a server error if the app was mounted without one.
pub fn entities() -> Result<Entities, leptos::prelude::ServerFnError> {
    leptos::prelude::use_context::<Entities>()
        .ok_or_else(|| leptos::prelude::ServerFnError::new("the entity reader is not configured"))
}
