//! Alerts: what a detection rule raises, as the API, the live stream, webhooks and the dashboard
//! show it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How urgent an alert is, after Sigma's levels (its `informational` is left to the event log).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertSeverity {
    Low,
    Medium,
    High,
    Critical,
}

impl AlertSeverity {
    pub const ALL: [AlertSeverity; 4] = [
        AlertSeverity::Low,
        AlertSeverity::Medium,
        AlertSeverity::High,
        AlertSeverity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertSeverity::Low => "low",
            AlertSeverity::Medium => "medium",
            AlertSeverity::High => "high",
            AlertSeverity::Critical => "critical",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for AlertSeverity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An alert's life: `open` → `acknowledged` → `closed` (or straight to `closed`). While not
/// closed, further matches update it; after, the same key raises a new one.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Open,
    Acknowledged,
    Closed,
}

impl AlertStatus {
    pub const ALL: [AlertStatus; 3] = [
        AlertStatus::Open,
        AlertStatus::Acknowledged,
        AlertStatus::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Open => "open",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether an operator may move an alert from `self` to `to`.
    pub fn may_become(self, to: AlertStatus) -> bool {
        matches!(
            (self, to),
            (AlertStatus::Open, AlertStatus::Acknowledged)
                | (AlertStatus::Open, AlertStatus::Closed)
                | (AlertStatus::Acknowledged, AlertStatus::Closed)
        )
    }
}

impl fmt::Display for AlertStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One alert, as stored.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub id: i64,
    /// Counts every change (opened, more matches, a status change): receivers de-duplicate on
    /// `(id, revision)`.
    pub revision: i64,
    /// Position in the stream of alert changes: `alerts_after=` on the live stream resumes from it.
    pub change_seq: i64,
    pub rule_id: String,
    pub title: String,
    pub severity: AlertSeverity,
    pub status: AlertStatus,
    /// What the events have in common, e.g. `ip=203.0.113.7` or `user=alice`.
    pub group_key: String,
    /// The event times of the first and newest matching event.
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Matching events so far.
    pub event_count: i64,
    /// The explorer's query string reproducing the matching events (`type=…&ip=…&since=…`).
    pub evidence_filter: String,
    /// The seqs of the events that tripped the rule (at most 100, oldest first).
    pub evidence_seqs: Vec<i64>,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Who last changed its status, when, and their note.
    pub status_changed_by: Option<String>,
    pub status_changed_at: Option<DateTime<Utc>>,
    pub note: Option<String>,
}

/// One step of an alert's timeline.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertHistoryEntry {
    pub at: DateTime<Utc>,
    /// `opened`, `matched`, `acknowledged`, `closed`.
    pub action: String,
    /// The operator, or `vigil` for the engine.
    pub by: String,
    pub note: Option<String>,
    pub event_count: i64,
}

/// `GET /api/v1/alerts`: newest changes first within open-before-closed and worst severity first.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertPage {
    pub alerts: Vec<Alert>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// What the top bar shows on every page.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertSummary {
    /// Alerts not closed (open or acknowledged).
    pub open: i64,
    /// The worst severity among them.
    pub worst: Option<AlertSeverity>,
    /// The newest alert change: resume the live stream's alerts from it.
    pub change_seq: i64,
}

/// `POST /api/v1/alerts/{id}/status`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertStatusChange {
    pub status: AlertStatus,
    #[serde(default)]
    pub note: Option<String>,
}

/// A detection rule as the API and the dashboard describe it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleInfo {
    pub id: String,
    pub title: String,
    pub severity: AlertSeverity,
    /// What it means and what to do.
    pub description: String,
    /// `threshold`, `distinct`, `sequence` or `first_seen`.
    pub kind: String,
    /// The condition in a line, e.g. `8 events with the same ip within 2m`.
    pub condition: String,
    /// The events it looks at, as an explorer query.
    pub filter: String,
    pub enabled: bool,
    /// `built-in` or `rules file`.
    pub origin: String,
}

/// One webhook delivery of an alert change, and how it went.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertDelivery {
    pub webhook_id: i64,
    pub alert_revision: i64,
    /// `alert.opened`, `alert.acknowledged` or `alert.closed`.
    pub event: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i32,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// `GET /api/v1/alerts/{id}`: the alert, its timeline and its rule.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertDetail {
    pub alert: Alert,
    pub history: Vec<AlertHistoryEntry>,
    /// Absent when the rule is no longer configured.
    pub rule: Option<RuleInfo>,
    /// Its webhook deliveries, newest first (at most 100).
    pub deliveries: Vec<AlertDelivery>,
}

/// Longest note an operator may leave on an alert, in characters.
pub const MAX_ALERT_NOTE_CHARS: usize = 2000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_only_move_forward() {
        use AlertStatus::*;
        assert!(Open.may_become(Acknowledged));
        assert!(Open.may_become(Closed));
        assert!(Acknowledged.may_become(Closed));
        assert!(!Closed.may_become(Open));
        assert!(!Acknowledged.may_become(Open));
        assert!(!Open.may_become(Open));
    }

    #[test]
    fn severities_order_by_urgency_and_round_trip() {
        assert!(AlertSeverity::Critical > AlertSeverity::High);
        for s in AlertSeverity::ALL {
            assert_eq!(AlertSeverity::parse(s.as_str()), Some(s));
        }
        assert_eq!(AlertSeverity::parse("urgent"), None);
    }
}
