//! `/api/v1/alerts`: reading alerts (operators and read keys) and changing their status
//! (signed-in operators only, from Vigil's own origin like every cookie request that changes
//! state: see `origin::refuse_cross_origin`).

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::Json;
use std::sync::Arc;
use vigil_wire::{
    AlertDelivery, AlertDetail, AlertPage, AlertSeverity, AlertStatus, AlertStatusChange,
    AlertSummary, ErrorBody, RuleInfo, MAX_ALERT_NOTE_CHARS,
};

use super::extract::ReadAccess;
use super::ApiError;
use crate::auth::Sessions;
use crate::storage::alerts::{AlertCursor, AlertQuery, StatusChangeError};
use crate::storage::{DeliveryQuery, EventStore};

/// The rules this server judges, as described to readers.
#[derive(Clone, Debug, Default)]
pub struct RuleBook(pub Arc<Vec<RuleInfo>>);

/// Alerts per page unless `limit` says otherwise, and at most.
const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 500;

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters; parsed by `parse_query`
pub struct AlertListQuery {
    /// A rule id.
    rule: Option<String>,
    /// `open`, `acknowledged` or `closed`.
    status: Option<String>,
    /// `low`, `medium`, `high` or `critical`.
    severity: Option<String>,
    /// Text contained in the group key (`203.0.113`, `user=alice`).
    key: Option<String>,
    /// 1–500, default 50.
    limit: Option<i64>,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
}

fn parse_query(raw: Option<&str>) -> Result<(AlertQuery, Option<AlertCursor>, i64), ApiError> {
    let mut query = AlertQuery::default();
    let (mut cursor, mut limit) = (None, DEFAULT_LIMIT);
    for (name, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        if value.len() > 512 {
            return Err(ApiError::invalid(&name, "must be at most 512 characters"));
        }
        match name.as_ref() {
            "rule" => query.rule = Some(value.to_owned()),
            "key" => query.key = Some(value.to_owned()),
            "status" => {
                query.status = Some(AlertStatus::parse(value).ok_or_else(|| {
                    ApiError::invalid("status", "must be open, acknowledged or closed")
                })?)
            }
            "severity" => {
                query.severity = Some(AlertSeverity::parse(value).ok_or_else(|| {
                    ApiError::invalid("severity", "must be low, medium, high or critical")
                })?)
            }
            "limit" => {
                limit = (value.parse().ok())
                    .filter(|l| (1..=MAX_LIMIT).contains(l))
                    .ok_or_else(|| ApiError::invalid("limit", "must be 1–500"))?
            }
            "cursor" => {
                cursor = Some(AlertCursor::decode(value).ok_or_else(|| {
                    ApiError::invalid("cursor", "is not a cursor this server issued")
                })?)
            }
            other => return Err(ApiError::invalid(other, "is not an alerts parameter")),
        }
    }
    Ok((query, cursor, limit))
}

#[utoipa::path(
    get,
    path = "/api/v1/alerts",
    tag = "alerts",
    security(("bearer" = [])),
    params(AlertListQuery),
    responses(
        (status = 200, description = "Not closed first, worst severity first, newest first", body = AlertPage),
        (status = 401, description = "Missing or unknown key", body = ErrorBody),
        (status = 403, description = "Not a read key", body = ErrorBody),
        (status = 422, description = "A parameter is invalid", body = ErrorBody),
    )
)]
pub async fn list_alerts(
    State(store): State<EventStore>,
    _reader: ReadAccess,
    uri: axum::http::Uri,
) -> Result<Json<AlertPage>, ApiError> {
    let (query, cursor, limit) = parse_query(uri.query())?;
    let (alerts, next) = store.alerts(&query, cursor, limit).await?;
    Ok(Json(AlertPage {
        alerts,
        next_cursor: next.map(|c| c.encode()),
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/alerts/summary",
    tag = "alerts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "How many alerts are not closed, and the worst severity among them", body = AlertSummary),
        (status = 401, description = "Missing or unknown key", body = ErrorBody),
        (status = 403, description = "Not a read key", body = ErrorBody),
    )
)]
pub async fn alert_summary(
    State(store): State<EventStore>,
    _reader: ReadAccess,
) -> Result<Json<AlertSummary>, ApiError> {
    Ok(Json(store.alert_summary().await?))
}

fn alert_id(raw: &str) -> Result<i64, ApiError> {
    (raw.parse().ok())
        .filter(|id| *id >= 1)
        .ok_or_else(|| ApiError::invalid("id", "must be an alert id (a positive integer)"))
}

#[utoipa::path(
    get,
    path = "/api/v1/alerts/{id}",
    tag = "alerts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The alert's id")),
    responses(
        (status = 200, description = "The alert, its timeline and its rule", body = AlertDetail),
        (status = 401, description = "Missing or unknown key", body = ErrorBody),
        (status = 403, description = "Not a read key", body = ErrorBody),
        (status = 404, description = "No such alert", body = ErrorBody),
        (status = 422, description = "Not an alert id", body = ErrorBody),
    )
)]
pub async fn get_alert(
    State(store): State<EventStore>,
    State(rules): State<RuleBook>,
    _reader: ReadAccess,
    Path(id): Path<String>,
) -> Result<Json<AlertDetail>, ApiError> {
    let id = alert_id(&id)?;
    let alert = store.alert(id).await?.ok_or(ApiError::NoSuchAlert)?;
    let history = store.alert_history(id).await?;
    let rule = rules.0.iter().find(|r| r.id == alert.rule_id).cloned();
    let query = DeliveryQuery {
        webhook: None,
        alert: Some(id),
    };
    let deliveries = (store.webhook_deliveries(query, 100).await?)
        .into_iter()
        .map(|d| AlertDelivery {
            webhook_id: d.webhook_id,
            alert_revision: d.alert_revision,
            event: d.event,
            state: d.state.as_str().to_owned(),
            attempts: d.attempts,
            last_status: d.last_status,
            last_error: d.last_error,
            next_attempt_at: d.next_attempt_at,
            delivered_at: d.delivered_at,
        })
        .collect();
    Ok(Json(AlertDetail {
        alert,
        history,
        rule,
        deliveries,
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/status",
    tag = "alerts",
    params(("id" = i64, Path, description = "The alert's id")),
    request_body = AlertStatusChange,
    responses(
        (status = 200, description = "The alert after the change", body = vigil_wire::Alert),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "A key (only operators may), or another origin", body = ErrorBody),
        (status = 404, description = "No such alert", body = ErrorBody),
        (status = 409, description = "Its status cannot go there (e.g. closed → open)", body = ErrorBody),
        (status = 422, description = "Bad body, or a note over 2000 characters", body = ErrorBody),
    )
)]
pub async fn change_status(
    State(store): State<EventStore>,
    State(sessions): State<Sessions>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<AlertStatusChange>, JsonRejection>,
) -> Result<Json<vigil_wire::Alert>, ApiError> {
    if headers.contains_key(header::AUTHORIZATION) {
        return Err(ApiError::OperatorsOnly);
    }
    let (operator, _) =
        (sessions.signed_in(&headers).await?).ok_or(ApiError::MissingCredentials)?;
    let id = alert_id(&id)?;
    let Json(change) = body.map_err(|e| {
        ApiError::invalid("body", format!("expected {{\"status\", \"note\"}}: {e}"))
    })?;
    let note = change
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > MAX_ALERT_NOTE_CHARS) {
        return Err(ApiError::invalid(
            "note",
            format!("must be at most {MAX_ALERT_NOTE_CHARS} characters"),
        ));
    }
    match store
        .change_alert_status(id, change.status, &operator.username, note)
        .await
    {
        Ok(alert) => Ok(Json(alert)),
        Err(StatusChangeError::NotFound) => Err(ApiError::NoSuchAlert),
        Err(err @ StatusChangeError::NotAllowed { .. }) => {
            Err(ApiError::StatusConflict(err.to_string()))
        }
        Err(StatusChangeError::Storage(err)) => Err(err.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_parameters_are_checked_by_name() {
        let (query, cursor, limit) =
            parse_query(Some("status=open&severity=high&key=203.0.113&limit=10")).unwrap();
        assert_eq!(query.status, Some(AlertStatus::Open));
        assert_eq!(query.severity, Some(AlertSeverity::High));
        assert_eq!((cursor, limit), (None, 10));
        for (raw, param) in [
            ("status=gone", "status"),
            ("severity=urgent", "severity"),
            ("limit=0", "limit"),
            ("limit=501", "limit"),
            ("cursor=zzz", "cursor"),
            ("colour=red", "colour"),
        ] {
            match parse_query(Some(raw)) {
                Err(ApiError::InvalidParameter { param: p, .. }) => assert_eq!(p, param, "{raw}"),
                other => panic!("{raw}: {other:?}"),
            }
        }
    }
}
