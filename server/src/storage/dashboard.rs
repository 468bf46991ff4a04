//! The dashboard's read access: `EventStore` behind the app's `EventReader` trait.

use futures::future::BoxFuture;
use vigil_app::backend::EventReader;
use vigil_wire::StoredEvent;

use super::EventStore;

impl EventReader for EventStore {
    fn recent_events(&self, limit: i64) -> BoxFuture<'_, Result<Vec<StoredEvent>, String>> {
        Box::pin(async move {
            self.recent(limit).await.map_err(|err| {
                tracing::error!(%err, "dashboard query failed");
                "the database is unavailable".to_owned()
            })
        })
    }
}
