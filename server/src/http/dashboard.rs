//! The dashboard: the Leptos pages and server functions, mounted with the backend they read
//! through (`EventStore` behind the app's `EventReader` trait).

use axum::Router;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use std::sync::{Arc, LazyLock};
use uuid::Uuid;
use vigil_app::admin_backend::Admin;
use vigil_app::alert_filters::AlertFilter;
use vigil_app::backend::{Backend, ChangeRefused, EventReader, ReadResult};
use vigil_app::entity_backend::Entities;
use vigil_app::{shell, App};
use vigil_wire::{
    AccessList, Alert, AlertHistoryEntry, AlertPage, AlertStatus, AlertSummary, Bucket,
    ChainStatus, EventFilter, EventPage, KeyInfo, OperatorInfo, RankBy, Ranked, StoredEvent,
};

use super::AppState;
use crate::storage::alerts::{AlertCursor, AlertQuery, StatusChangeError};
use crate::storage::{Cursor, EventStore, KeyStore, OperatorStore, StorageError};

/// The pages' routes, generated once per process. Generating runs the app with resource loading
/// suppressed process-wide (leptos_server's `SuppressResourceLoad`), so a page another app in
/// the process rendered meanwhile waited forever on its first resource (leptos issue #4773).
static ROUTES: LazyLock<Vec<AxumRouteListing>> = LazyLock::new(|| generate_route_list(App));

/// Adds the pages, their server functions and the site's assets to `router`.
pub fn mount(router: Router<AppState>, state: &AppState) -> Router<AppState> {
    let routes = ROUTES.clone();
    let backend = Backend(Arc::new(state.store.clone()));
    let rules = state.rules.clone();
    let entities = Entities(Arc::new(super::dashboard_entities::DashboardEntities(
        state.store.clone(),
    )));
    let admin = Admin(Arc::new(super::dashboard_admin::DashboardAdmin::new(state)));
    let provide_backend = move || {
        provide_context(backend.clone());
        provide_context(entities.clone());
        provide_context(admin.clone());
        // What `rule_description` reads: the rules this server judges.
        provide_context(rules.clone());
    };
    let options = state.leptos_options.clone();
    router
        .leptos_routes_with_context(state, routes, provide_backend, move || {
            shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
}

/// Logs the detail; the page shows only that reading failed.
fn shown(err: StorageError) -> String {
    tracing::error!(%err, "dashboard query failed");
    "the database is unavailable".to_owned()
}

impl EventReader for EventStore {
    fn access(&self) -> BoxFuture<'_, ReadResult<AccessList>> {
        Box::pin(async move {
            let keys = KeyStore::new(self.pool().clone())
                .list()
                .await
                .map_err(shown)?;
            let operators = OperatorStore::new(self.pool().clone())
                .list()
                .await
                .map_err(shown)?;
            Ok(AccessList {
                keys: keys
                    .into_iter()
                    .map(|k| KeyInfo {
                        name: k.name,
                        kind: k.kind.as_str().to_owned(),
                        created_at: k.created_at,
                        revoked_at: k.revoked_at,
                    })
                    .collect(),
                operators: operators
                    .into_iter()
                    .map(|o| OperatorInfo {
                        username: o.username,
                        role: o.role.as_str().to_owned(),
                        created_at: o.created_at,
                        disabled_at: o.disabled_at,
                    })
                    .collect(),
            })
        })
    }

    fn chain_status(&self) -> BoxFuture<'_, ReadResult<ChainStatus>> {
        Box::pin(async move { EventStore::chain_status(self).await.map_err(shown) })
    }

    fn recent_events(&self, limit: i64) -> BoxFuture<'_, ReadResult<Vec<StoredEvent>>> {
        Box::pin(async move { self.recent(limit).await.map_err(shown) })
    }

    fn search(
        &self,
        filter: EventFilter,
        cursor: Option<String>,
        limit: u32,
    ) -> BoxFuture<'_, ReadResult<EventPage>> {
        Box::pin(async move {
            let cursor = match cursor {
                Some(raw) => Some(
                    Cursor::decode(&raw).ok_or("`cursor`: is not a cursor this server issued")?,
                ),
                None => None,
            };
            self.find(&filter, cursor, limit).await.map_err(shown)
        })
    }

    fn event(&self, id: Uuid) -> BoxFuture<'_, ReadResult<Option<StoredEvent>>> {
        Box::pin(async move { self.by_id(id).await.map_err(shown) })
    }

    fn volume(
        &self,
        filter: EventFilter,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        bucket_seconds: i64,
    ) -> BoxFuture<'_, ReadResult<Option<Vec<Bucket>>>> {
        Box::pin(async move {
            EventStore::volume(self, &filter, since, until, bucket_seconds)
                .await
                .map_err(shown)
        })
    }

    fn top(
        &self,
        filter: EventFilter,
        by: RankBy,
        limit: u32,
    ) -> BoxFuture<'_, ReadResult<Option<Vec<Ranked>>>> {
        Box::pin(async move {
            EventStore::top(self, &filter, by, limit)
                .await
                .map_err(shown)
        })
    }

    fn facets(&self, filter: EventFilter) -> BoxFuture<'_, ReadResult<Option<vigil_wire::Facets>>> {
        Box::pin(async move {
            EventStore::facets(self, &filter, crate::storage::FACET_SAMPLE)
                .await
                .map_err(shown)
        })
    }

    fn alerts(
        &self,
        filter: AlertFilter,
        cursor: Option<String>,
        limit: u32,
    ) -> BoxFuture<'_, ReadResult<AlertPage>> {
        Box::pin(async move {
            let cursor = match cursor {
                Some(raw) => Some(
                    AlertCursor::decode(&raw)
                        .ok_or("`cursor`: is not a cursor this server issued")?,
                ),
                None => None,
            };
            let query = AlertQuery {
                rule: filter.rule,
                status: filter.status,
                severity: filter.severity,
                key: filter.key,
            };
            let (alerts, next) = EventStore::alerts(self, &query, cursor, i64::from(limit))
                .await
                .map_err(shown)?;
            Ok(AlertPage {
                alerts,
                next_cursor: next.map(|c| c.encode()),
            })
        })
    }

    fn alert(&self, id: i64) -> BoxFuture<'_, ReadResult<Option<Alert>>> {
        Box::pin(async move { EventStore::alert(self, id).await.map_err(shown) })
    }

    fn alert_history(&self, id: i64) -> BoxFuture<'_, ReadResult<Vec<AlertHistoryEntry>>> {
        Box::pin(async move { EventStore::alert_history(self, id).await.map_err(shown) })
    }

    fn alert_summary(&self) -> BoxFuture<'_, ReadResult<AlertSummary>> {
        Box::pin(async move { EventStore::alert_summary(self).await.map_err(shown) })
    }

    // The lead fills this in from the detection rules.
    fn rule_description(&self, rule_id: &str) -> Option<String> {
        let rules = leptos::prelude::use_context::<super::alerts::RuleBook>()?;
        let rule = rules.0.iter().find(|r| r.id == rule_id)?;
        Some(format!(
            "{} It trips on {}.",
            rule.description, rule.condition
        ))
    }

    fn change_alert_status(
        &self,
        id: i64,
        to: AlertStatus,
        by: String,
        note: Option<String>,
    ) -> BoxFuture<'_, Result<Alert, ChangeRefused>> {
        Box::pin(async move {
            let changed = EventStore::change_alert_status(self, id, to, &by, note.as_deref()).await;
            match changed {
                Ok(alert) => {
                    tracing::info!(alert = id, status = %to, operator = %by, "alert status changed");
                    Ok(alert)
                }
                Err(StatusChangeError::NotFound) => Err(ChangeRefused::NotFound),
                Err(refused @ StatusChangeError::NotAllowed { .. }) => {
                    Err(ChangeRefused::NotAllowed(refused.to_string()))
                }
                Err(StatusChangeError::Storage(err)) => Err(ChangeRefused::Unavailable(shown(err))),
            }
        })
    }
}
