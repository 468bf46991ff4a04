//! The alerts listing's filter as the dashboard handles it: parsed once from the URL (so the
//! server function takes an `AlertFilter`, never a raw query string) and checked again on the
//! server, since it arrives from the browser.

use serde::{Deserialize, Serialize};
use vigil_wire::{AlertSeverity, AlertStatus};

use crate::filters::query_pairs;

/// Longest rule id or key fragment the listing accepts, in characters.
pub const MAX_ALERT_FILTER_CHARS: usize = 200;

/// What `/alerts` narrows by; every part is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertFilter {
    /// Exactly this rule id.
    pub rule: Option<String>,
    pub status: Option<AlertStatus>,
    pub severity: Option<AlertSeverity>,
    /// Contained in the group key (`ip=203.0.113.7`, `user=alice`), ignoring case.
    pub key: Option<String>,
}

impl AlertFilter {
    /// The URL's filter (`?rule=…&status=…&severity=…&key=…`); other parameters are ignored.
    /// Each error names its field.
    pub fn from_query(query: &str) -> Result<Self, String> {
        let mut filter = AlertFilter::default();
        for (name, value) in query_pairs(query) {
            let value = value.trim().to_owned();
            if value.is_empty() {
                continue;
            }
            match name.as_str() {
                "rule" => filter.rule = Some(value),
                "key" => filter.key = Some(value),
                "status" => {
                    filter.status = Some(AlertStatus::parse(&value).ok_or_else(|| {
                        "`status`: must be open, acknowledged or closed".to_owned()
                    })?)
                }
                "severity" => {
                    filter.severity = Some(AlertSeverity::parse(&value).ok_or_else(|| {
                        "`severity`: must be low, medium, high or critical".to_owned()
                    })?)
                }
                _ => {}
            }
        }
        filter.checked()
    }

    /// Refuses text parts beyond `MAX_ALERT_FILTER_CHARS`: what the server does with a filter
    /// that came from the browser.
    pub fn checked(self) -> Result<Self, String> {
        for (name, value) in [("rule", &self.rule), ("key", &self.key)] {
            let chars = value.as_deref().map_or(0, |v| v.chars().count());
            if chars > MAX_ALERT_FILTER_CHARS {
                return Err(format!(
                    "`{name}`: at most {MAX_ALERT_FILTER_CHARS} characters (this one has {chars})"
                ));
            }
        }
        Ok(self)
    }
}

/// `/events?…` for an alert's evidence filter, re-encoded so that only its pairs, escaped,
/// reach the link.
pub fn evidence_href(evidence_filter: &str) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query_pairs(evidence_filter))
        .finish();
    format!("/events?{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_filter_parses_each_part_and_names_a_bad_one() {
        let filter =
            AlertFilter::from_query("?rule=brute-force-ip&status=open&severity=high&key=ip%3D1")
                .unwrap();
        assert_eq!(filter.rule.as_deref(), Some("brute-force-ip"));
        assert_eq!(filter.status, Some(AlertStatus::Open));
        assert_eq!(filter.severity, Some(AlertSeverity::High));
        assert_eq!(filter.key.as_deref(), Some("ip=1"));
        assert_eq!(
            AlertFilter::from_query("?status=&cursor=x").unwrap(),
            AlertFilter::default()
        );
        assert!(AlertFilter::from_query("?status=gone")
            .unwrap_err()
            .contains("`status`"));
        assert!(AlertFilter::from_query("?severity=urgent")
            .unwrap_err()
            .contains("`severity`"));
        let long = format!("?key={}", "k".repeat(MAX_ALERT_FILTER_CHARS + 1));
        assert!(AlertFilter::from_query(&long)
            .unwrap_err()
            .contains("`key`"));
    }

    #[test]
    fn evidence_links_stay_on_the_explorer() {
        assert_eq!(
            evidence_href("type=auth.login.failure&ip=203.0.113.7&since=2026-01-01T00:00:00Z"),
            "/events?type=auth.login.failure&ip=203.0.113.7&since=2026-01-01T00%3A00%3A00Z"
        );
        assert_eq!(
            evidence_href("x=\"><script>"),
            "/events?x=%22%3E%3Cscript%3E"
        );
    }
}
