//! What the dashboard's server functions need from storage. The server crate implements it and
//! provides a `Backend` through Leptos context, so the app never opens a connection itself.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use std::sync::Arc;
use uuid::Uuid;
use vigil_wire::{ChainStatus, EventFilter, EventPage, StoredEvent};

use vigil_wire::{Bucket, RankBy, Ranked};

/// Errors are already logged by the implementation and safe to show to the signed-in reader.
pub type ReadResult<T> = Result<T, String>;

/// Who signed in, as the server's sign-in check records it in each dashboard request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedIn {
    pub username: String,
    pub admin: bool,
}

pub trait EventReader: Send + Sync + 'static {
    /// The newest `limit` events, newest first.
    fn recent_events(&self, limit: i64) -> BoxFuture<'_, ReadResult<Vec<StoredEvent>>>;
    /// One page of events matching `filter`, after `cursor` (a `next_cursor` it issued).
    fn search(
        &self,
        filter: EventFilter,
        cursor: Option<String>,
        limit: u32,
    ) -> BoxFuture<'_, ReadResult<EventPage>>;
    fn event(&self, id: Uuid) -> BoxFuture<'_, ReadResult<Option<StoredEvent>>>;
    /// Matching events per bucket of `bucket_seconds` over `[since, until)`; `None` when the
    /// filter is too broad to count within the server's budget.
    fn volume(
        &self,
        filter: EventFilter,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        bucket_seconds: i64,
    ) -> BoxFuture<'_, ReadResult<Option<Vec<Bucket>>>>;
    /// The most frequent values of a column among matching events; `None` as for `volume`.
    fn top(
        &self,
        filter: EventFilter,
        by: RankBy,
        limit: u32,
    ) -> BoxFuture<'_, ReadResult<Option<Vec<Ranked>>>>;
    /// The tamper-evident chain's head and latest verification.
    fn chain_status(&self) -> BoxFuture<'_, ReadResult<ChainStatus>>;
    /// Every API key and operator (no secrets): for admins only.
    fn access(&self) -> BoxFuture<'_, ReadResult<vigil_wire::AccessList>>;
}

#[derive(Clone)]
pub struct Backend(pub Arc<dyn EventReader>);

/// The backend from context, or a server error if the app was mounted without one.
pub fn backend() -> Result<Backend, leptos::prelude::ServerFnError> {
    leptos::prelude::use_context::<Backend>()
        .ok_or_else(|| leptos::prelude::ServerFnError::new("the event store is not configured"))
}
