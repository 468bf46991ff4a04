//! What the dashboard's server functions need from storage. The server crate implements it and
//! provides a `Backend` through Leptos context, so the app never opens a connection itself.

use futures::future::BoxFuture;
use std::sync::Arc;
use vigil_wire::StoredEvent;

pub trait EventReader: Send + Sync + 'static {
    /// The newest `limit` events, newest first. Errors are already logged and safe to show.
    fn recent_events(&self, limit: i64) -> BoxFuture<'_, Result<Vec<StoredEvent>, String>>;
}

#[derive(Clone)]
pub struct Backend(pub Arc<dyn EventReader>);
