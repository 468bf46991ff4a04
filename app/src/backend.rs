//! What the dashboard's server functions need from storage. The server crate implements it and
//! provides a `Backend` through Leptos context, so the app never opens a connection itself.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use std::sync::Arc;
use uuid::Uuid;
use vigil_wire::{ChainStatus, EventFilter, EventPage, StoredEvent};

use vigil_wire::{Alert, AlertHistoryEntry, AlertPage, AlertStatus, AlertSummary};
use vigil_wire::{Bucket, RankBy, Ranked};

use crate::alert_filters::AlertFilter;

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
    /// The top values of each facet column among the newest matching events; `None` as for
    /// `volume`.
    fn facets(&self, filter: EventFilter) -> BoxFuture<'_, ReadResult<Option<vigil_wire::Facets>>>;
    /// The tamper-evident chain's head and latest verification.
    fn chain_status(&self) -> BoxFuture<'_, ReadResult<ChainStatus>>;
    /// Every API key and operator (no secrets): for admins only.
    fn access(&self) -> BoxFuture<'_, ReadResult<vigil_wire::AccessList>>;
    /// One page of alerts matching `filter` in the listing's order (not closed first, worst
    /// severity first, newest first), after `cursor` (a `next_cursor` it issued).
    fn alerts(
        &self,
        filter: AlertFilter,
        cursor: Option<String>,
        limit: u32,
    ) -> BoxFuture<'_, ReadResult<AlertPage>>;
    fn alert(&self, id: i64) -> BoxFuture<'_, ReadResult<Option<Alert>>>;
    /// The alert's timeline, oldest first.
    fn alert_history(&self, id: i64) -> BoxFuture<'_, ReadResult<Vec<AlertHistoryEntry>>>;
    /// What the top bar shows: alerts not closed and the worst of them.
    fn alert_summary(&self) -> BoxFuture<'_, ReadResult<AlertSummary>>;
    /// What the rule means and what to do about it, if the server knows the rule.
    fn rule_description(&self, rule_id: &str) -> Option<String>;
    /// An operator acknowledges or closes an alert; `by` is who is signed in.
    fn change_alert_status(
        &self,
        id: i64,
        to: AlertStatus,
        by: String,
        note: Option<String>,
    ) -> BoxFuture<'_, Result<Alert, ChangeRefused>>;
}

/// Why an alert's status did not change; each message is safe to show the operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeRefused {
    NotFound,
    /// Not from its current status (`an alert that is closed cannot become acknowledged`).
    NotAllowed(String),
    /// Already logged: reading or writing failed.
    Unavailable(String),
}

#[derive(Clone)]
pub struct Backend(pub Arc<dyn EventReader>);

/// Who is signed in, from the request the server's sign-in check let through; refused when
/// nobody is (server rendering of the public sign-in page calls server functions directly).
pub fn signed_in() -> Result<SignedIn, leptos::prelude::ServerFnError> {
    leptos::prelude::use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<SignedIn>().cloned())
        .ok_or_else(|| leptos::prelude::ServerFnError::new("sign in to use the dashboard"))
}

/// The backend from context, or a server error if the app was mounted without one.
pub fn backend() -> Result<Backend, leptos::prelude::ServerFnError> {
    leptos::prelude::use_context::<Backend>()
        .ok_or_else(|| leptos::prelude::ServerFnError::new("the event store is not configured"))
}
