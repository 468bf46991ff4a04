//! The entity pages' backend: `EventStore`'s profile query behind the app's `EntityReader`.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use vigil_app::backend::ReadResult;
use vigil_app::entity_backend::EntityReader;
use vigil_wire::{Entity, EntityProfile};

use crate::storage::{EventStore, ProfileCaps};

/// Reads profiles from the store with the dashboard's caps.
pub struct DashboardEntities(pub EventStore);

impl EntityReader for DashboardEntities {
    fn profile(
        &self,
        entity: Entity,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> BoxFuture<'_, ReadResult<EntityProfile>> {
        Box::pin(async move {
            (self
                .0
                .entity_profile(&entity, since, until, ProfileCaps::DASHBOARD)
                .await)
                .map_err(|err| {
                    // Logged here; the page shows only that reading failed.
                    tracing::error!(%err, "an entity profile failed");
                    "the database is unavailable".to_owned()
                })
        })
    }
}
